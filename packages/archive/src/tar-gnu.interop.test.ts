// Interop with GNU tar (Debian package `tar`): it lists and extracts what writeTar writes,
// and readTar reads what it writes in every format.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes } from '@stevedore/digest';
import { StevedoreError } from '@stevedore/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TarEntryInput } from './tar-entry.ts';
import { readTar } from './tar-read.ts';
import { writeTar } from './tar-write.ts';

const TAR = 'tar';
const environment = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };

function run(args: string[], input?: Uint8Array): { stdout: Buffer; stderr: string; status: number | null } {
  const result = spawnSync(TAR, args, { env: environment, ...(input === undefined ? {} : { input }) });
  return {
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: result.stderr?.toString() ?? '',
    status: result.status,
  };
}

function gnuTarVersion(): string | undefined {
  const result = spawnSync(TAR, ['--version'], { env: environment });
  const text = result.error === undefined ? (result.stdout?.toString() ?? '') : '';
  return /GNU tar/.test(text) ? text.split('\n')[0] : undefined;
}

const version = gnuTarVersion();
if (version === undefined && process.env.CI !== 'true') {
  console.warn('GNU tar not found: skipping the tar interop tests (install the Debian package "tar")');
}

const work = mkdtempSync(join(tmpdir(), 'stevedore-tar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const D150 = 'd'.repeat(150);
const F120 = 'f'.repeat(120);
const T110 = 't'.repeat(110);
const UNICODE = 'ünïcödé 文字.txt';
const MTIME = 1_700_000_000;

it('GNU tar is installed (required when CI=true)', () => {
  if (process.env.CI === 'true') expect(version, 'install the Debian package "tar"').toBeDefined();
});

describe.skipIf(version === undefined)(`GNU tar (${version ?? 'missing'})`, () => {
  const entries: TarEntryInput[] = [
    { name: 'root', type: 'directory', mtime: MTIME },
    { name: 'root/empty', type: 'directory', mode: 0o700, mtime: MTIME },
    { name: 'root/tmp', type: 'directory', mode: 0o1777, mtime: MTIME },
    { name: `root/${D150}`, type: 'directory', mtime: MTIME },
    { name: `root/${D150}/${F120}`, type: 'file', mtime: MTIME, content: text('long name\n') },
    { name: `root/${UNICODE}`, type: 'file', mtime: MTIME, content: text('unicode\n') },
    { name: 'root/setuid', type: 'file', mode: 0o4755, mtime: MTIME, content: text('#!/bin/sh\n') },
    { name: 'root/link', type: 'symlink', linkname: UNICODE, mtime: MTIME },
    { name: 'root/longlink', type: 'symlink', linkname: `${T110}/${UNICODE}`, mtime: MTIME },
    { name: 'root/hard', type: 'hardlink', linkname: `root/${UNICODE}`, mtime: MTIME },
    { name: 'root/fifo', type: 'fifo', mode: 0o600, mtime: MTIME },
    {
      name: 'root/xattrs',
      type: 'file',
      mtime: MTIME,
      content: text('x'),
      pax: { 'SCHILY.xattr.user.comment': 'hello', 'SCHILY.xattr.user.bin': '\x80\x00\xff' },
    },
    { name: 'root/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, mtime: MTIME },
    {
      name: 'root/ids',
      type: 'file',
      uid: 3_000_000,
      gid: 3_000_001,
      uname: 'bïg',
      gname: 'grp',
      mtime: MTIME,
    },
  ];

  it('lists our archive exactly: names, types, modes, owners, sizes, times, link targets', async () => {
    const archive = await collectBytes(writeTar(entries));
    for (const format of [[], ['--format=posix']]) {
      const names = run([...format, '--quoting-style=literal', '-tf', '-'], archive);
      expect(names.stderr).toBe('');
      expect(names.status).toBe(0);
      expect(names.stdout.toString().split('\n').slice(0, -1)).toEqual(
        entries.map((entry) => (entry.type === 'directory' ? `${entry.name}/` : entry.name)),
      );
    }
    const long = run(['--quoting-style=literal', '--numeric-owner', '-tvf', '-'], archive);
    expect(long.stderr).toBe('');
    const lines = long.stdout.toString().split('\n');
    const line = (name: string): string => lines.find((item) => item.includes(` ${name}`)) ?? '';
    expect(line('root/setuid')).toMatch(/^-rwsr-xr-x 0\/0 +10 2023-11-14 22:13 root\/setuid$/);
    expect(line('root/tmp/')).toMatch(/^drwxrwxrwt /);
    expect(line('root/empty/')).toMatch(/^drwx------ /);
    expect(line('root/fifo')).toMatch(/^prw------- /);
    expect(line('root/null')).toMatch(/^crw-rw-rw- 0\/0 +1,3 /);
    expect(line('root/ids')).toMatch(/^-rw-r--r-- 3000000\/3000001 +0 /);
    expect(line('root/link')).toMatch(new RegExp(`root/link -> ${UNICODE}$`));
    expect(line('root/longlink')).toMatch(new RegExp(`root/longlink -> ${T110}/${UNICODE}$`));
    expect(line('root/hard')).toMatch(new RegExp(`root/hard link to root/${UNICODE}$`));
    const named = run(['--quoting-style=literal', '-tvf', '-'], archive).stdout.toString();
    expect(named).toMatch(/ bïg\/grp +0 .* root\/ids\n/);
  });

  it('extracts our archive exactly, xattrs included', async () => {
    const extractable = entries.filter((entry) => entry.type !== 'char'); // mknod needs privileges
    const archive = await collectBytes(writeTar(extractable));
    const target = mkdtempSync(join(work, 'extract-'));
    const result = run(
      ['--xattrs', '--xattrs-include=*', '--no-same-owner', '-xpf', '-', '-C', target],
      archive,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    const at = (name: string): string => join(target, name);
    expect(readFileSync(at(`root/${D150}/${F120}`), 'utf8')).toBe('long name\n');
    expect(readFileSync(at(`root/${UNICODE}`), 'utf8')).toBe('unicode\n');
    expect(lstatSync(at('root/setuid')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(at('root/tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(at('root/empty')).mode & 0o7777).toBe(0o700);
    expect(lstatSync(at('root/fifo')).isFIFO()).toBe(true);
    expect(readlinkSync(at('root/link'))).toBe(UNICODE);
    expect(readlinkSync(at('root/longlink'))).toBe(`${T110}/${UNICODE}`);
    expect(lstatSync(at('root/hard')).ino).toBe(lstatSync(at(`root/${UNICODE}`)).ino);
    expect(lstatSync(at('root/setuid')).mtimeMs).toBe(MTIME * 1000);

    // GNU tar archives the extracted file again: the xattrs are on it, bytes intact.
    const again = run([
      '--xattrs',
      '--xattrs-include=*',
      '--format=posix',
      '-cf',
      '-',
      '-C',
      target,
      'root/xattrs',
    ]);
    expect(again.status).toBe(0);
    for await (const entry of readTar(new Uint8Array(again.stdout))) {
      expect(entry.pax['SCHILY.xattr.user.comment']).toBe('hello');
      expect(entry.pax['SCHILY.xattr.user.bin']).toBe('\x80\x00\xff');
    }
  });

  describe('readTar reads what GNU tar writes', () => {
    const tree = join(work, 'tree');
    beforeAll(() => {
      mkdirSync(join(tree, 'root', 'empty'), { recursive: true });
      mkdirSync(join(tree, 'root', D150));
      writeFileSync(join(tree, 'root', 'hello.txt'), 'hello\n');
      writeFileSync(join(tree, 'root', 'big'), 'Z'.repeat(3000));
      writeFileSync(join(tree, 'root', 'setuid'), 'x');
      chmodSync(join(tree, 'root', 'setuid'), 0o4755);
      chmodSync(join(tree, 'root', 'empty'), 0o700);
      symlinkSync('hello.txt', join(tree, 'root', 'link'));
      linkSync(join(tree, 'root', 'hello.txt'), join(tree, 'root', 'hard'));
      writeFileSync(join(tree, 'root', D150, F120), 'long\n');
      writeFileSync(join(tree, 'root', UNICODE), 'unicode\n');
      for (const name of [
        'root/empty',
        `root/${D150}/${F120}`,
        `root/${D150}`,
        'root/big',
        'root/hello.txt',
      ]) {
        utimesSync(join(tree, name), MTIME, MTIME);
      }
      utimesSync(join(tree, 'root/setuid'), MTIME, MTIME);
      utimesSync(join(tree, `root/${UNICODE}`), MTIME, MTIME);
      utimesSync(join(tree, 'root'), MTIME, MTIME);
    });

    const short = [
      'root/',
      'root/big',
      'root/empty/',
      'root/hard',
      'root/hello.txt',
      'root/link',
      'root/setuid',
    ];
    const all = [...short, `root/${D150}/`, `root/${D150}/${F120}`, `root/${UNICODE}`].sort();
    const common = ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '-C', tree];

    interface Seen {
      readonly type: string;
      readonly mode: number;
      readonly body: string;
      readonly mtime: number;
      readonly linkname: string;
    }
    async function read(archive: Uint8Array): Promise<Map<string, Seen>> {
      const seen = new Map<string, Seen>();
      for await (const entry of readTar(archive)) {
        const body = new TextDecoder().decode(await collectBytes(entry.content));
        seen.set(entry.name, {
          type: entry.type,
          mode: entry.mode,
          body,
          mtime: entry.mtime,
          linkname: entry.linkname,
        });
      }
      return seen;
    }

    it.each([
      ['gnu', all],
      ['posix', all],
      ['ustar', short],
      ['v7', short],
    ])('--format=%s', async (format, names) => {
      // ustar cannot hold the long path, v7 neither it nor non-ASCII: give them the short names only
      const members =
        names === all ? ['root'] : ['--no-recursion', ...names.map((name) => name.replace(/\/$/, ''))];
      const made = run([`--format=${format}`, ...common, '-cf', '-', ...members]);
      expect(made.stderr).toBe('');
      expect(made.status).toBe(0);
      const seen = await read(new Uint8Array(made.stdout));
      expect([...seen.keys()].sort()).toEqual(names);
      expect(seen.get('root/setuid')).toMatchObject({ type: 'file', mode: 0o4755, body: 'x', mtime: MTIME });
      expect(seen.get('root/empty/')).toMatchObject({ type: 'directory', mode: 0o700 });
      expect(seen.get('root/link')).toMatchObject({ type: 'symlink', linkname: 'hello.txt' });
      expect(seen.get('root/big')?.body).toBe('Z'.repeat(3000));
      const links = [seen.get('root/hard'), seen.get('root/hello.txt')];
      expect(links.map((entry) => entry?.type).sort()).toEqual(['file', 'hardlink']);
      if (names === all) {
        expect(seen.get(`root/${D150}/${F120}`)?.body).toBe('long\n');
        expect(seen.get(`root/${UNICODE}`)?.body).toBe('unicode\n');
      }
    });

    it('reads an archive cut before its end blocks, and fails on one cut inside content', async () => {
      const made = run(['--format=posix', ...common, '-b1', '-cf', '-', 'root']);
      const archive = new Uint8Array(made.stdout);
      expect(archive.subarray(-1024).every((byte) => byte === 0)).toBe(true);
      const whole = await read(archive);
      expect(await read(archive.subarray(0, -1024))).toEqual(whole);

      const inside = Buffer.from(archive).indexOf('Z'.repeat(3000)) + 1000;
      const error = await read(archive.subarray(0, inside)).catch((caught: unknown) => caught);
      expect(StevedoreError.is(error, 'ERR_TAR_TRUNCATED')).toBe(true);
    });
  });
});
