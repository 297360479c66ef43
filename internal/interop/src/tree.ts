// Compares directory trees the way an image consumer sees them.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** What matters about one path in a tree. */
export interface TreeEntry {
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  readonly mode: number;
  readonly content?: string;
  readonly target?: string;
  /** Paths that share this file's inode, when it has more than one link. */
  readonly links?: readonly string[];
}

/** Every path below `root` (not the root) with its type, mode, content or target, and hardlink group. */
export async function describeTree(root: string): Promise<Record<string, TreeEntry>> {
  const entries: Record<string, TreeEntry> = {};
  const inodes = new Map<string, string[]>();
  const walk = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const relative = `${prefix}${name}`;
      const info = await lstat(path);
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        entries[relative] = { type: 'directory', mode };
        await walk(path, `${relative}/`);
      } else if (info.isSymbolicLink()) {
        entries[relative] = { type: 'symlink', mode: 0, target: await readlink(path) };
      } else if (info.isFile()) {
        entries[relative] = { type: 'file', mode, content: (await readFile(path)).toString('base64') };
        if (info.nlink > 1) {
          const key = `${info.dev}:${info.ino}`;
          inodes.set(key, [...(inodes.get(key) ?? []), relative]);
        }
      } else {
        entries[relative] = { type: 'other', mode };
      }
    }
  };
  await walk(root, '');
  for (const group of inodes.values()) {
    for (const path of group) entries[path] = { ...(entries[path] as TreeEntry), links: group };
  }
  return entries;
}
