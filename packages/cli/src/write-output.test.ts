import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from './cli-io.ts';
import { writeOutput } from './write-output.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('writeOutput', () => {
  it('writes a file whole, or stdout, and counts the bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stevedore-write-output-'));
    const chunks = async function* () {
      yield bytes('one ');
      yield bytes('two');
    };
    expect(await writeOutput(chunks(), join(dir, 'out'), captureIo().io.stdout)).toBe(7);
    expect(await readFile(join(dir, 'out'), 'utf8')).toBe('one two');
    const captured = captureIo();
    expect(await writeOutput(chunks(), undefined, captured.io.stdout)).toBe(7);
    expect(captured.stdout()).toBe('one two');
  });

  it('leaves nothing at the path, and no temporary file, when the bytes fail half way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stevedore-write-output-'));
    const failing = async function* () {
      yield bytes('half');
      throw new Error('the source broke');
    };
    await expect(writeOutput(failing(), join(dir, 'out'), captureIo().io.stdout)).rejects.toThrow(
      'the source broke',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
