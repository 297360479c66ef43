import { describe, expect, it } from 'vitest';
import type { CliOutput } from './cli-io.ts';
import { createProgress, formatBytes } from './progress.ts';

function capture(isTTY: boolean): CliOutput & { text: () => string } {
  let text = '';
  return {
    write: (more) => {
      text += more;
    },
    writeBytes: async () => {
      throw new Error('progress writes text only');
    },
    isTTY,
    columns: 100,
    text: () => text,
  };
}

const layer = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${'a'.repeat(64)}`,
  size: 4 * 1024 * 1024,
};
const config = {
  mediaType: 'application/vnd.oci.image.config.v1+json',
  digest: `sha256:${'b'.repeat(64)}`,
  size: 300,
};

describe('progress', () => {
  it('redraws bars in place on a terminal, with bytes, rate and a total line', () => {
    const output = capture(true);
    let now = 0;
    const progress = createProgress('push', output, 'bars', () => now);
    progress.onProgress({ descriptor: config, state: 'skipped', bytes: 0 });
    progress.onProgress({ descriptor: layer, state: 'started', bytes: 0 });
    now = 1000;
    progress.onProgress({ descriptor: layer, state: 'progress', bytes: 2 * 1024 * 1024 });
    now = 2000;
    progress.onProgress({ descriptor: layer, state: 'done', bytes: layer.size });
    progress.done();
    const text = output.text();
    expect(text).toContain('\x1b[2A'); // back over the two lines drawn before
    expect(text).toContain('sha256:aaaaaaaaaaaa [===========>            ]    2.0 MiB / 4.0 MiB  2.0 MiB/s');
    expect(text).toContain('sha256:bbbbbbbbbbbb      300 B  exists');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '\x1b[2Kpush: 2/2 blobs, 4.0 MiB moved of 4.0 MiB, 2.0 MiB/s, 2.0 s',
    );
  });

  it('writes a line per finished blob off a terminal, and nothing when quiet', () => {
    const output = capture(false);
    const progress = createProgress('copy', output, 'lines', () => 0);
    progress.onProgress({ descriptor: layer, state: 'started', bytes: 0 });
    progress.onProgress({ descriptor: layer, state: 'progress', bytes: 1 });
    progress.onProgress({ descriptor: layer, state: 'done', bytes: layer.size });
    progress.onProgress({ descriptor: config, state: 'mounted', bytes: 0 });
    progress.done();
    expect(output.text().split('\n')).toEqual([
      'copy: sha256:aaaaaaaaaaaa 4.0 MiB done',
      'copy: sha256:bbbbbbbbbbbb 300 B mounted',
      'copy: 2/2 blobs, 4.0 MiB moved of 4.0 MiB, 0.0 s',
      '',
    ]);
    const quiet = capture(false);
    const none = createProgress('copy', quiet, 'none');
    none.onProgress({ descriptor: layer, state: 'done', bytes: layer.size });
    none.done();
    expect(quiet.text()).toBe('');
  });

  it('formats sizes in binary units', () => {
    expect([0, 512, 1536, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KiB', '5.0 GiB']);
  });
});
