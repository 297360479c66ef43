import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StevedoreError } from '@stevedore/errors';
import { hashSync } from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readHtpasswd } from './htpasswd.ts';

// Cost 4 keeps the tests fast; real files use 10 or more.
const aliceHash = hashSync('wonderland', 4);
// `htpasswd -B` writes $2y$, the same algorithm as $2a$/$2b$.
const bobHash = hashSync('builder:with:colons', 4).replace(/^\$2[ab]\$/, '$2y$');

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stevedore-htpasswd-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

async function writeHtpasswd(name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, text);
  return path;
}

async function readError(source: string | Record<string, string>): Promise<StevedoreError> {
  const error = await readHtpasswd(source).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(StevedoreError.is(error, 'ERR_HTPASSWD_INVALID')).toBe(true);
  return error as StevedoreError;
}

describe('readHtpasswd', () => {
  it('reads user:hash lines, skipping blank lines and comments, with CRLF endings', async () => {
    const path = await writeHtpasswd(
      'users',
      `# registry users\r\n\r\nalice:${aliceHash}\r\n   \r\n  # bob pushes\r\nbob:${bobHash}  \r\n`,
    );
    const htpasswd = await readHtpasswd(path);
    expect(htpasswd.users).toEqual(['alice', 'bob']);
    expect(await htpasswd.verify('alice', 'wonderland')).toBe(true);
    expect(await htpasswd.verify('alice', 'Wonderland')).toBe(false);
    expect(await htpasswd.verify('alice', '')).toBe(false);
    expect(await htpasswd.verify('bob', 'builder:with:colons')).toBe(true);
    expect(await htpasswd.verify('bob', 'wonderland')).toBe(false);
  });

  it('reads a record of user to hash', async () => {
    const htpasswd = await readHtpasswd({ alice: aliceHash });
    expect(htpasswd.users).toEqual(['alice']);
    expect(await htpasswd.verify('alice', 'wonderland')).toBe(true);
    expect(await htpasswd.verify('nobody', 'wonderland')).toBe(false);
    expect(await htpasswd.verify('', '')).toBe(false);
  });

  it('accepts an empty file: nobody can log in', async () => {
    const htpasswd = await readHtpasswd(await writeHtpasswd('empty', '# nobody yet\n'));
    expect(htpasswd.users).toEqual([]);
    expect(await htpasswd.verify('alice', 'wonderland')).toBe(false);
  });

  it('rejects a line that is not user:hash, naming the file and line but not the line', async () => {
    const path = await writeHtpasswd('no-colon', `alice:${aliceHash}\n\nhunter2-plain-password\n`);
    const error = await readError(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('line 3');
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects hashes other than bcrypt with the line and user, never the hash', async () => {
    const md5 = '$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/';
    const path = await writeHtpasswd('md5', `# users\nalice:${aliceHash}\ncarol:${md5}\n`);
    const error = await readError(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('line 3');
    expect(error.message).toContain('"carol"');
    expect(error.message).toContain('APR1-MD5');
    expect(error.message).not.toContain(md5);
    expect(error.message).not.toContain('HqJZimcKQFAMYayBlzkrA');

    const sha = await readError(await writeHtpasswd('sha', 'dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n'));
    expect(sha.message).toContain('line 1');
    expect(sha.message).toContain('SHA-1');
    expect(sha.message).not.toContain('W6ph5Mm5Pz8GgiULbPgzG37mj9g');

    const plain = await readError({ erin: 'plaintext-password' });
    expect(plain.message).toContain('"erin"');
    expect(plain.message).not.toContain('plaintext-password');
  });

  it('rejects malformed bcrypt: truncated, unknown minor version, cost out of range', async () => {
    await readError({ alice: aliceHash.slice(0, -1) });
    await readError({ alice: aliceHash.replace(/^\$2a\$|^\$2b\$/, '$2x$') });
    const withCost = (cost: string) => `${aliceHash.slice(0, 4)}${cost}${aliceHash.slice(6)}`;
    expect(withCost('04')).toBe(aliceHash);
    await readError({ alice: withCost('03') });
    await readError({ alice: withCost('32') });
  });

  it('rejects a user named twice, an empty user, a user with a colon', async () => {
    const twice = await readError(await writeHtpasswd('twice', `alice:${aliceHash}\nalice:${bobHash}\n`));
    expect(twice.message).toContain('line 2');
    expect(twice.message).toContain('twice');
    await readError(await writeHtpasswd('empty-user', `:${aliceHash}\n`));
    await readError({ 'al:ice': aliceHash });
    await readError({ '': aliceHash });
  });

  it('reports a file that cannot be read, with the cause', async () => {
    const path = join(directory, 'missing');
    const error = await readError(path);
    expect(error.message).toContain(path);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('rejects sources of the wrong type', async () => {
    await expect(readHtpasswd(42 as unknown as string)).rejects.toThrow(TypeError);
  });

  it('stays correct around its cache of successful verifications', async () => {
    const htpasswd = await readHtpasswd({ alice: aliceHash, bob: bobHash });
    // In parallel, as clients pushing layers do.
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => htpasswd.verify('alice', 'wonderland')),
      htpasswd.verify('alice', 'wonderlan'),
      htpasswd.verify('bob', 'wonderland'),
    ]);
    expect(results).toEqual([true, true, true, true, true, false, false]);
    // Cached now; a wrong password and another user's password still fail.
    expect(await htpasswd.verify('alice', 'wonderland')).toBe(true);
    expect(await htpasswd.verify('alice', 'wonderland ')).toBe(false);
    expect(await htpasswd.verify('bob', 'wonderland')).toBe(false);
    // User and password are kept apart in the cache key: "alice" + "wonderland" is not
    // "alicewonder" + "land".
    expect(await htpasswd.verify('alicewonder', 'land')).toBe(false);

    // Past the five minutes, verified again from the hash.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60 * 1000);
    expect(await htpasswd.verify('alice', 'wonderland')).toBe(true);
    expect(await htpasswd.verify('alice', 'wrong')).toBe(false);
  });
});
