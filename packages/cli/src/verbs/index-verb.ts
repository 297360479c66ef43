// index create|append|filter|list: multi-platform indexes made of images from anywhere,
// as crane index and docker manifest make them.
import { copy, readSource, selectPlatforms } from '@stevedore/copy';
import { assembleIndex, type ImageNode, type Index, imageAnnotations, imageFormat } from '@stevedore/image';
import { type Descriptor, formatPlatform } from '@stevedore/manifest';
import { endpointOf } from '../endpoints.ts';
import { CliError, usageError } from '../errors.ts';
import { formatBytes } from '../progress.ts';
import type { VerbContext } from '../verb.ts';

/** The subverbs of `index`. */
export const INDEX_SUBVERBS = ['create', 'append', 'filter', 'list'] as const;

type Subverb = (typeof INDEX_SUBVERBS)[number];

/** `stevedore index SUBVERB …`. */
export async function runIndex(context: VerbContext): Promise<void> {
  const [subverb = '', ...rest] = context.positionals;
  if (!(INDEX_SUBVERBS as readonly string[]).includes(subverb)) {
    throw usageError(
      `unknown index subverb ${JSON.stringify(subverb)}: expected ${INDEX_SUBVERBS.join(', ')}`,
      'index',
    );
  }
  checkArguments(context, subverb as Subverb, rest);
  switch (subverb as Subverb) {
    case 'create':
      return createIndex(context, rest);
    case 'append':
      return appendToIndex(context, rest);
    case 'filter':
      return filterIndex(context, rest);
    case 'list':
      return listIndex(context, rest);
  }
}

// Each subverb's arguments and the flags it takes, checked before anything is read.
function checkArguments(context: VerbContext, subverb: Subverb, rest: readonly string[]): void {
  const usage = {
    create: 'index create TARGET IMAGE...',
    append: 'index append INDEX IMAGE... [--to ENDPOINT]',
    filter: 'index filter INDEX --platform OS/ARCH... --to ENDPOINT',
    list: 'index list INDEX',
  }[subverb];
  const [min, max] = subverb === 'create' || subverb === 'append' ? [2, Number.POSITIVE_INFINITY] : [1, 1];
  if (rest.length < min || rest.length > max) {
    throw usageError(
      `${usage}: expected ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'} after ${subverb}, got ${rest.length}`,
      'index',
    );
  }
  const given = (name: string) => context.flags[name] !== undefined;
  const refuse = (flag: string, why: string) => {
    throw usageError(`index ${subverb} takes no ${flag}: ${why}`, 'index');
  };
  if (given('annotation') && subverb !== 'create' && subverb !== 'append')
    refuse('--annotation', 'create and append annotate the index they write');
  if (given('to') && subverb !== 'append' && subverb !== 'filter')
    refuse('--to', subverb === 'create' ? 'TARGET says where the index goes' : 'it writes nothing');
  if (subverb === 'filter') {
    if (context.global.all) refuse('--all', 'a filter keeps the platforms --platform names');
    if (context.global.platforms.length === 0)
      throw usageError('index filter needs --platform, once per platform to keep', 'index');
    if (!given('to'))
      throw usageError('index filter needs --to ENDPOINT, where the filtered index goes', 'index');
  } else if (context.global.platforms.length > 0 || context.global.all) {
    refuse(context.global.all ? '--all' : '--platform', 'only index filter selects platforms');
  }
}

/** `index create TARGET IMAGE...`. */
async function createIndex(context: VerbContext, [target = '', ...images]: readonly string[]): Promise<void> {
  const annotations = annotationsOf(context);
  const parts = await childrenOf(context, images, []);
  const index = await assembleIndex(parts.children, {
    entries: parts.entries,
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
  });
  await writeIndex(context, index, endpointOf(target));
}

/** `index append INDEX IMAGE... [--to ENDPOINT]`. */
async function appendToIndex(
  context: VerbContext,
  [named = '', ...images]: readonly string[],
): Promise<void> {
  const annotations = annotationsOf(context);
  const base = await readIndex(context, named);
  const existing = base.manifest.json.manifests;
  const parts = await childrenOf(
    context,
    images,
    existing.map((entry) => entry.digest),
  );
  const merged = { ...imageAnnotations(base), ...annotations };
  const index = await assembleIndex([...base.children, ...parts.children], {
    format: imageFormat(base),
    entries: [...existing.map(entryFields), ...parts.entries],
    ...(Object.keys(merged).length === 0 ? {} : { annotations: merged }),
  });
  const to = context.flags.to;
  await writeIndex(context, index, endpointOf(typeof to === 'string' ? to : named));
}

/** `index filter INDEX --platform P... --to ENDPOINT`. */
async function filterIndex(context: VerbContext, [named = '']: readonly string[]): Promise<void> {
  const base = await readIndex(context, named);
  // A subset of platforms makes an index (of one platform too).
  const filtered = (await selectPlatforms(base, { platforms: context.global.platforms })) as Index;
  await writeIndex(context, filtered, endpointOf(context.flags.to as string));
}

/** `index list INDEX`. */
async function listIndex(context: VerbContext, [named = '']: readonly string[]): Promise<void> {
  const index = await readIndex(context, named);
  const entries = index.manifest.json.manifests.map(shownEntry);
  const width = Math.max(13, ...entries.map((entry) => (entry.platform ?? '').length));
  const lines = entries.map(
    (entry) =>
      `${(entry.platform ?? '(no platform)').padEnd(width)}  ${entry.digest}  ${formatBytes(entry.size)}`,
  );
  context.print(entries, lines.join('\n'));
}

function shownEntry(entry: Descriptor): {
  platform?: string;
  digest: string;
  size: number;
  mediaType: string;
  annotations?: Readonly<Record<string, string>>;
} {
  return {
    ...(entry.platform === undefined ? {} : { platform: formatPlatform(entry.platform) }),
    digest: entry.digest,
    size: entry.size,
    mediaType: entry.mediaType,
    ...(entry.annotations === undefined ? {} : { annotations: entry.annotations }),
  };
}

// The platform and annotations of an index entry, kept when the index is made again.
function entryFields(entry: Descriptor): Partial<Pick<Descriptor, 'annotations' | 'platform'>> {
  return {
    ...(entry.annotations === undefined ? {} : { annotations: entry.annotations }),
    ...(entry.platform === undefined ? {} : { platform: entry.platform }),
  };
}

async function readNode(context: VerbContext, text: string): Promise<ImageNode> {
  return readSource(endpointOf(text), {
    registry: await context.registry(),
    ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
  });
}

async function readIndex(context: VerbContext, text: string): Promise<Index> {
  const node = await readNode(context, text);
  if (node.kind !== 'index') {
    throw new CliError(
      'ERR_CLI_INPUT',
      `${text} is an ${node.kind} (${node.manifest.mediaType}), not an index`,
      {
        hint: 'make an index of images with "stevedore index create TARGET IMAGE..."',
      },
    );
  }
  return node;
}

// The manifests the IMAGEs add, each once: an image, an artifact, or the manifests an
// index lists (with the platform and annotations of its entries). Those whose digest is
// listed already are left out.
async function childrenOf(
  context: VerbContext,
  images: readonly string[],
  listed: readonly string[],
): Promise<{
  children: ImageNode[];
  entries: Array<Partial<Pick<Descriptor, 'annotations' | 'platform'>> | undefined>;
}> {
  const seen = new Set(listed);
  const children: ImageNode[] = [];
  const entries: Array<Partial<Pick<Descriptor, 'annotations' | 'platform'>> | undefined> = [];
  const add = (
    child: ImageNode,
    entry: Partial<Pick<Descriptor, 'annotations' | 'platform'>> | undefined,
    from: string,
  ) => {
    const digest = child.manifest.digest.toString();
    if (seen.has(digest)) {
      context.log(`index: ${digest} (${from}) is listed already`);
      return;
    }
    seen.add(digest);
    children.push(child);
    entries.push(entry);
  };
  for (const text of images) {
    const node = await readNode(context, text);
    if (node.kind !== 'index') {
      add(node, undefined, text);
      continue;
    }
    const listedEntries = node.manifest.json.manifests;
    for (const [position, child] of node.children.entries()) {
      const entry = listedEntries[position];
      add(child, entry === undefined ? undefined : entryFields(entry), text);
    }
  }
  return { children, entries };
}

function annotationsOf(context: VerbContext): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const pair of (context.flags.annotation as string[] | undefined) ?? []) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw usageError(`--annotation takes KEY=VALUE, got ${JSON.stringify(pair)}`, 'index');
    annotations[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return annotations;
}

// Writes an index and every manifest and blob it reaches that the destination lacks.
async function writeIndex(context: VerbContext, index: Index, destination: string): Promise<void> {
  const progress = context.progress('index');
  try {
    const { digest } = await copy(index, destination, {
      all: true,
      ...(context.global.concurrency === undefined ? {} : { concurrency: context.global.concurrency }),
      ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
      onProgress: progress.onProgress,
      registry: await context.registry(),
    });
    progress.done();
    context.print({ destination, digest, manifests: index.manifest.json.manifests.map(shownEntry) }, digest);
  } catch (error) {
    progress.done();
    throw error;
  }
}
