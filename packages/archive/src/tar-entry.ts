import type { ByteSource } from '@stevedore/digest';

/** The kinds of tar entries Stevedore reads and writes (sockets cannot be archived). */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * The metadata of one tar entry, as {@link readTar} returns it and {@link writeTar} takes it.
 *
 * PAX records are strings. Values of `SCHILY.xattr.*` records are byte strings (one
 * character per byte, code points 0–255), because extended attributes such as
 * `security.capability` are binary; all other keys and values are UTF-8 text.
 */
export interface TarHeader {
  /** The archive path, as stored; directories end with `/` when written. */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission bits, including setuid, setgid and sticky (`0o7777` at most). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** The content length in bytes for files (may exceed 8 GiB); 0 for every other type. */
  readonly size: number;
  /** Modification time in whole seconds since the epoch. */
  readonly mtime: number;
  /** The target of a symlink or hardlink; `''` for other types. */
  readonly linkname: string;
  /** Device numbers of `char` and `block` entries. */
  readonly devmajor: number;
  readonly devminor: number;
  /**
   * PAX extended-header records that are not header fields, for example
   * `SCHILY.xattr.security.capability`. `path`, `linkpath`, `size`, `uid`, `gid`,
   * `uname`, `gname` and `mtime` are never here: they are applied to the fields above.
   */
  readonly pax: Readonly<Record<string, string>>;
}

/**
 * An entry for {@link writeTar}: a name and a type, optional metadata, and for files the
 * content. Defaults: mode `0o755` for directories, `0o777` for symlinks, `0o644` for the
 * rest; uid and gid 0; uname and gname `''`; mtime the `sourceDateEpoch`, or 0.
 */
export interface TarEntryInput extends Partial<Omit<TarHeader, 'name' | 'type'>> {
  readonly name: string;
  readonly type: TarEntryType;
  /**
   * The content of a file. Its total length must equal `size`; `size` may be omitted
   * when the content is a `Uint8Array`. Other types have none, or an empty one (so an
   * entry from `readTar` can be written as it is).
   */
  readonly content?: ByteSource;
}

/**
 * An entry from {@link readTar}: its header and its content. The content can be read
 * once, before the loop moves to the next entry; unread content is skipped.
 */
export interface TarEntry extends TarHeader {
  /** Where the content starts in the (uncompressed) archive, in bytes: for reading it again by range. */
  readonly offset: number;
  readonly content: AsyncIterable<Uint8Array>;
}
