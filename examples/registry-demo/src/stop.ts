// `pnpm demo:stop`: stops the registry `pnpm demo` left running.
import { rm } from 'node:fs/promises';
import { PID_FILE, runningServerPid, stopServer } from './demo-state.ts';

const pid = await runningServerPid();
if (pid === undefined) {
  console.log('no demo registry is running');
} else {
  await stopServer(pid);
  console.log(`stopped the demo registry (pid ${pid})`);
}
await rm(PID_FILE, { force: true });
