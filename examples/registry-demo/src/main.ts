// `pnpm demo`, the README's main job: builds an image from ./site with `stevedore build`,
// starts `stevedore serve` on its embedded filesystem store (in the background, on port
// 5000 or, when that is taken, a free one; DEMO_PORT chooses), pushes the image into it
// with `stevedore copy`, and prints how to pull it and how to stop the registry.
import { execFile, spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_DIR, PID_FILE, runningServerPid, STEVEDORE_MAIN, stopServer } from './demo-state.ts';

const run = promisify(execFile);
const SITE = fileURLToPath(new URL('../site', import.meta.url));
const PNPM = 'npx --yes pnpm@10.34.9';

/** Runs `stevedore ARGS` and answers what it printed on stdout. */
async function stevedore(...args: string[]): Promise<string> {
  try {
    return (await run(process.execPath, [STEVEDORE_MAIN, '--quiet', ...args])).stdout.trim();
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`stevedore ${args.join(' ')} failed:\n${failure.stderr ?? failure.message}`);
  }
}

/** Whether a loopback port is free now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Starts `stevedore serve` in the background; resolves to its host once it listens. */
async function serve(store: string, port: number): Promise<{ host: string; pid: number }> {
  const logPath = join(DEMO_DIR, 'serve.log');
  const log = await open(logPath, 'w');
  const child = spawn(
    process.execPath,
    [STEVEDORE_MAIN, 'serve', '--json', '--store', store, '--port', String(port)],
    {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    },
  );
  child.unref();
  await log.close();
  for (let waited = 0; waited < 15_000; waited += 100) {
    const printed = await readFile(logPath, 'utf8');
    try {
      const { host } = JSON.parse(printed) as { host: string };
      return { host, pid: child.pid as number };
    } catch {
      if (child.exitCode !== null)
        throw new Error(`stevedore serve stopped (exit ${child.exitCode}):\n${printed}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`stevedore serve did not start within 15 s; see ${logPath}`);
}

await mkdir(DEMO_DIR, { recursive: true });
const previous = await runningServerPid();
if (previous !== undefined) {
  await stopServer(previous);
  console.log(`(stopped the demo registry left running before, pid ${previous})`);
}

const layout = `oci:${join(DEMO_DIR, 'layout')}:site`;
const built = await stevedore(
  'build',
  SITE,
  '--workdir',
  '/site',
  '--label',
  'org.opencontainers.image.title=Stevedore demo site',
  '--to',
  layout,
);
console.log(`1/3 built   ${SITE} → ${layout}\n            ${built}`);

const wanted = process.env.DEMO_PORT === undefined ? 5000 : Number(process.env.DEMO_PORT);
const port = wanted === 0 || (await isFree(wanted)) ? wanted : 0;
const { host, pid } = await serve(join(DEMO_DIR, 'registry'), port);
await writeFile(PID_FILE, `${pid}\n`);
console.log(
  `2/3 serving http://${host} from ${join(DEMO_DIR, 'registry')} (pid ${pid}, log ${join(DEMO_DIR, 'serve.log')})`,
);

const image = `${host}/demo/site:latest`;
const pushed = await stevedore('copy', layout, image);
console.log(`3/3 pushed  ${image}\n            ${pushed}`);

console.log(`
Pull it with
  stevedore  ${PNPM} exec stevedore copy ${image} oci:./pulled:site
  skopeo     skopeo copy --src-tls-verify=false docker://${image} oci:./pulled:site
  podman     podman pull --tls-verify=false ${image}
  docker     docker pull ${image}
Look at it
  ${PNPM} exec stevedore inspect ${image}
Stop the registry
  ${PNPM} demo:stop      (or: kill ${pid})`);
