// The real peers interop tests run against. In CI (CI=true) a missing peer fails the
// test; elsewhere the test skips with a message naming the Debian package to install.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Debian package that provides each peer command. */
export const PEER_PACKAGES = {
  skopeo: 'skopeo',
  umoci: 'umoci',
  'oci-image-tool': 'oci-image-tool',
  'docker-registry': 'docker-registry',
  tar: 'tar',
  zstd: 'zstd',
  openssl: 'openssl',
  nginx: 'nginx-light',
} as const;

export type Peer = keyof typeof PEER_PACKAGES;

const found = new Map<Peer, Promise<boolean>>();

function isInstalled(peer: Peer): Promise<boolean> {
  let answer = found.get(peer);
  if (answer === undefined) {
    answer = run('sh', ['-c', `command -v ${peer}`]).then(
      () => true,
      () => false,
    );
    found.set(peer, answer);
  }
  return answer;
}

/**
 * Makes sure the peers a test needs are installed: returns true to go on; returns false
 * after skipping the test (outside CI); throws in CI.
 */
export async function needPeers(
  context: { skip: (note?: string) => void },
  ...peers: Peer[]
): Promise<boolean> {
  for (const peer of peers) {
    if (await isInstalled(peer)) continue;
    const message = `${peer} is not installed: apt-get install ${PEER_PACKAGES[peer]}`;
    if (process.env.CI) throw new Error(message);
    context.skip(message);
    return false;
  }
  return true;
}

/** Runs a peer command; resolves with its output, rejects with its output in the message. */
export async function runPeer(command: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`,
    );
  }
}
