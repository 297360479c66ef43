// pull IMAGE PATH and push PATH IMAGE, as crane has them: an image to or from a path on
// disk, whose form (layout, archive, directory) is said by --format or found out.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { copy, parseEndpoint } from '@stevedore/copy';
import { parseReference } from '@stevedore/transport-registry';
import { endpointOf } from '../endpoints.ts';
import { CliError, usageError } from '../errors.ts';
import { platformSelectionOf } from '../global-options.ts';
import type { VerbContext } from '../verb.ts';

/** What `pull --format` writes. */
export const PULL_FORMATS = ['oci', 'oci-archive', 'docker-archive', 'dir'] as const;

/** `stevedore pull IMAGE PATH`. */
export async function runPull(context: VerbContext): Promise<void> {
  const [image = '', path = ''] = context.positionals;
  const source = endpointOf(image);
  const destination = pullDestination(source, path, context.flags.format);
  await copyWithProgress(context, 'pull', source, destination);
}

/** `stevedore push PATH IMAGE`. */
export async function runPush(context: VerbContext): Promise<void> {
  const [path = '', image = ''] = context.positionals;
  const source = await pushSource(path, context.io.signal);
  context.debug(`push: reading ${source}`);
  await copyWithProgress(context, 'push', source, endpointOf(image));
}

async function copyWithProgress(
  context: VerbContext,
  title: string,
  source: string,
  destination: string,
): Promise<void> {
  const progress = context.progress(title);
  try {
    const result = await copy(source, destination, {
      ...platformSelectionOf(context.global),
      ...(context.global.concurrency === undefined ? {} : { concurrency: context.global.concurrency }),
      ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
      onProgress: progress.onProgress,
      registry: await context.registry(),
    });
    progress.done();
    context.print({ source, destination, digest: result.digest }, result.digest);
  } catch (error) {
    progress.done();
    throw error;
  }
}

// A path given with a transport prefix is an endpoint already.
function isEndpoint(text: string): boolean {
  return endpointOf(text) === text;
}

/**
 * Where `pull` writes: PATH as the endpoint `format` names, tagged with the source's tag
 * (a layout or oci-archive) or named by its reference (a docker-archive).
 * @throws {CliError} `ERR_USAGE` for an unknown format, or a format with a prefixed PATH.
 */
export function pullDestination(source: string, path: string, format: unknown): string {
  if (format !== undefined && !(PULL_FORMATS as readonly unknown[]).includes(format)) {
    throw usageError(`--format takes ${PULL_FORMATS.join(', ')}, got ${JSON.stringify(format)}`, 'pull');
  }
  if (isEndpoint(path)) {
    if (format !== undefined)
      throw usageError(`give --format or a transport-prefixed PATH (${path}), not both`, 'pull');
    return path;
  }
  if (path.includes(':')) {
    throw usageError(
      `PATH ${JSON.stringify(path)} has a ":", which an endpoint reads as the start of a tag; give it with its transport (oci:PATH:TAG)`,
      'pull',
    );
  }
  const chosen = (format ?? 'oci') as (typeof PULL_FORMATS)[number];
  const { tag, name } = namesOf(source);
  switch (chosen) {
    case 'oci':
    case 'oci-archive':
      return `${chosen}:${path}${tag === undefined ? '' : `:${tag}`}`;
    case 'docker-archive':
      return `docker-archive:${path}${name === undefined ? '' : `:${name}`}`;
    case 'dir':
      return `dir:${path}`;
  }
}

// The tag of what an endpoint names, and its NAME:TAG as docker load takes it.
function namesOf(source: string): { tag?: string; name?: string } {
  const endpoint = parseEndpoint(source);
  switch (endpoint.transport) {
    case 'docker': {
      const reference = parseReference(endpoint.reference);
      if (reference.digest !== undefined && reference.tag === undefined) return {};
      const tag = reference.tag ?? 'latest';
      const at = endpoint.reference.indexOf('@');
      const named = at < 0 ? endpoint.reference : endpoint.reference.slice(0, at);
      return { tag, name: reference.tag === undefined ? `${named}:latest` : named };
    }
    case 'docker-archive': {
      if (endpoint.tag === undefined) return {};
      const tag = parseReference(endpoint.tag).tag;
      return { ...(tag === undefined ? {} : { tag }), name: endpoint.tag };
    }
    case 'oci':
    case 'oci-archive':
    case 'static':
      return endpoint.tag === undefined ? {} : { tag: endpoint.tag };
    case 'dir':
      return {};
  }
}

/**
 * The endpoint `push` reads PATH as: as given with a transport prefix, else by what it is
 * (a layout, a dir: directory, an oci-archive or a docker-archive).
 * @throws {CliError} `ERR_CLI_INPUT` for a path that is missing or a directory of neither kind.
 */
export async function pushSource(path: string, signal?: AbortSignal): Promise<string> {
  if (isEndpoint(path)) return path;
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) {
    throw new CliError('ERR_CLI_INPUT', `${path} does not exist`, {
      hint: 'give an OCI layout directory, a dir: directory, or an oci-archive or docker-archive tar',
    });
  }
  const isFile = async (name: string) =>
    (await stat(join(path, name)).catch(() => undefined))?.isFile() === true;
  if (found.isDirectory()) {
    if (await isFile('oci-layout')) return `oci:${path}`;
    if (await isFile('version')) return `dir:${path}`;
    throw new CliError(
      'ERR_CLI_INPUT',
      `${path} is a directory but neither an OCI image layout (it has no oci-layout file) nor a dir: image (no version file)`,
    );
  }
  return (await tarHasFile(path, 'oci-layout', signal)) ? `oci-archive:${path}` : `docker-archive:${path}`;
}

const BLOCK = 512;

/**
 * Whether the tar at `path` holds a file named `wanted`: its headers are read one by one,
 * each entry's content skipped, so a docker-archive of many gigabytes costs a few reads.
 * Not a plain tar (compressed, or something else): false, and the docker-archive reader
 * says what it is.
 */
export async function tarHasFile(path: string, wanted: string, signal?: AbortSignal): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const header = new Uint8Array(BLOCK);
    let offset = 0;
    // A PAX extended header or a GNU long name applies to the entry after it.
    let next: { path?: string; size?: number } = {};
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK || header.every((byte) => byte === 0) || !checksumMatches(header)) return false;
      offset += BLOCK;
      const type = String.fromCharCode(header[156] ?? 0);
      const size = next.size ?? numberField(header, 124, 12);
      if (size === undefined) return false;
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'x' || type === 'L') {
        if (size > 1024 * 1024) return false;
        const content = new Uint8Array(size);
        await handle.read(content, 0, size, offset);
        next = type === 'x' ? { ...next, ...paxRecords(content) } : { ...next, path: cString(content) };
        offset += padded;
        continue;
      }
      if (type === 'g') {
        offset += padded;
        continue;
      }
      // POSIX ustar's prefix field; GNU's "ustar  " headers keep times there instead.
      const posix = cString(header.subarray(257, 263)) === 'ustar';
      const prefix = posix ? cString(header.subarray(345, 500)) : '';
      const name = next.path ?? joinPrefix(prefix, cString(header.subarray(0, 100)));
      next = {};
      if (normalizeName(name) === wanted) return true;
      offset += padded;
    }
  } finally {
    await handle.close();
  }
}

function checksumMatches(header: Uint8Array): boolean {
  const stored = numberField(header, 148, 8);
  let sum = 0;
  for (let index = 0; index < BLOCK; index++)
    sum += index >= 148 && index < 156 ? 0x20 : (header[index] ?? 0);
  return stored === sum;
}

// An octal field, or GNU's base-256 for big numbers (the high bit of the first byte set).
function numberField(header: Uint8Array, start: number, length: number): number | undefined {
  const field = header.subarray(start, start + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : undefined;
}

function paxRecords(content: Uint8Array): { path?: string; size?: number } {
  const found: { path?: string; size?: number } = {};
  const text = new TextDecoder().decode(content);
  for (const line of text.split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (match?.[1] === 'path') found.path = match[2] as string;
    if (match?.[1] === 'size' && /^\d+$/.test(match[2] ?? '')) found.size = Number(match[2]);
  }
  return found;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function joinPrefix(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}/${name}`;
}

function normalizeName(name: string): string {
  return name
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}
