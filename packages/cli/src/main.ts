#!/usr/bin/env node
// The `stevedore` binary. SIGINT or SIGTERM aborts the running verb (a copy stops and
// cleans up, a server closes); a second SIGINT exits at once.
import { processIo } from './cli-io.ts';
import { runCli } from './run-cli.ts';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted && signal === 'SIGINT') process.exit(130);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
process.exitCode = await runCli(process.argv.slice(2), processIo(controller.signal));
