// A Stevedore registry in a process of its own, for tests that kill it or watch its
// memory: `node server-main.ts <store dir> [options as JSON]` prints `{"url","host"}` on
// one line once it listens, and serves until it is killed.
import { type StartServerOptions, startServer } from '@stevedore/server';

const [store, options = '{}'] = process.argv.slice(2);
if (store === undefined) throw new Error('usage: node server-main.ts <store dir> [options JSON]');
const server = await startServer({ ...(JSON.parse(options) as Partial<StartServerOptions>), store });
process.stdout.write(`${JSON.stringify({ url: server.url, host: server.host })}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
