// The README's main job (examples/registry-demo), run as a user runs it: `pnpm demo`
// builds, serves and pushes; skopeo and stevedore then pull the image; `pnpm demo:stop`
// stops the registry.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { needPeers } from './peers.ts';

const run = promisify(execFile);
const demo = (file: string) =>
  fileURLToPath(new URL(`../../../examples/registry-demo/src/${file}`, import.meta.url));

it('builds, serves and pushes the demo image, which skopeo and stevedore pull, and stops', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const dir = await mkdtemp(join(tmpdir(), 'stevedore-demo-'));
  const env = { ...process.env, DEMO_DIR: join(dir, '.demo'), DEMO_PORT: '0' };
  const { stdout } = await run(process.execPath, [demo('main.ts')], { cwd: dir, env });
  const image = /3\/3 pushed {2}(\S+)/.exec(stdout)?.[1];
  const pushedDigest = /3\/3 pushed.*\n\s+(sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
  expect(image).toMatch(/^127\.0\.0\.1:\d+\/demo\/site:latest$/);
  expect(stdout).toContain(`skopeo copy --src-tls-verify=false docker://${image} oci:./pulled:site`);
  expect(stdout).toContain(`docker pull ${image}`);
  const pid = Number(await readFile(join(dir, '.demo', 'serve.pid'), 'utf8'));
  try {
    const skopeo = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--format',
      '{{.Digest}}',
      `docker://${image}`,
    ]);
    expect(skopeo.stdout.trim()).toBe(pushedDigest);
    const stevedore = fileURLToPath(import.meta.resolve('@stevedore/cli/package.json')).replace(
      /package\.json$/,
      'src/main.ts',
    );
    const files = await run(process.execPath, [stevedore, 'config', image as string]);
    expect(JSON.parse(files.stdout).config).toMatchObject({
      WorkingDir: '/site',
      Labels: { 'org.opencontainers.image.title': 'Stevedore demo site' },
    });
  } finally {
    const stopped = await run(process.execPath, [demo('stop.ts')], { cwd: dir, env });
    expect(stopped.stdout).toContain(`stopped the demo registry (pid ${pid})`);
  }
  expect(() => process.kill(pid, 0)).toThrow();
});
