import { copy, deleteImage, listTags } from '@stevedore/copy';
import { formatReference, parseReference } from '@stevedore/transport-registry';
import { endpointOf, registryReferenceOf } from '../endpoints.ts';
import { CliError, usageError } from '../errors.ts';
import type { VerbContext } from '../verb.ts';
import { writeOutput } from '../write-output.ts';

/** `stevedore ls REPOSITORY`. */
export async function runListTags(context: VerbContext): Promise<void> {
  const tags = await listTags(endpointOf(context.positionals[0] ?? ''), {
    registry: await context.registry(),
  });
  context.print(tags, tags.join('\n'));
}

/** `stevedore catalog REGISTRY`. */
export async function runCatalog(context: VerbContext): Promise<void> {
  const registry = (context.positionals[0] ?? '').replace(/^docker:\/\//, '').replace(/\/+$/, '');
  if (registry.includes('/'))
    throw usageError(`catalog takes a registry (host[:port]), got ${JSON.stringify(registry)}`, 'catalog');
  const repositories = await (await context.registry()).listRepositories(registry);
  context.print(repositories, repositories.join('\n'));
}

/** `stevedore tag IMAGE TAG`: the same manifest under another tag of the repository. */
export async function runTag(context: VerbContext): Promise<void> {
  const [image = '', tag = ''] = context.positionals;
  const reference = parseReference(registryReferenceOf(image, 'tag'));
  const target = formatReference({ registry: reference.registry, repository: reference.repository, tag });
  const result = await copy(`docker://${formatReference(reference)}`, `docker://${target}`, {
    all: true,
    registry: await context.registry(),
  });
  context.print({ reference: target, digest: result.digest }, target);
}

/** `stevedore delete IMAGE`. */
export async function runDelete(context: VerbContext): Promise<void> {
  const endpoint = endpointOf(context.positionals[0] ?? '');
  await deleteImage(endpoint, { registry: await context.registry() });
  context.log(`deleted ${endpoint}`);
  context.print({ deleted: endpoint }, '');
}

/** `stevedore blob REPOSITORY@DIGEST`. */
export async function runBlob(context: VerbContext): Promise<void> {
  const reference = parseReference(registryReferenceOf(context.positionals[0] ?? '', 'blob'));
  if (reference.digest === undefined) throw usageError('blob needs REPOSITORY@DIGEST', 'blob');
  const client = await context.registry();
  const repository = { registry: reference.registry, repository: reference.repository };
  // The size is not in the reference: asked first, so the bytes are checked against it too.
  const found = await client.headBlob(repository, reference.digest);
  if (found === undefined) {
    throw new CliError('ERR_NOT_FOUND', `${formatReference(repository)} holds no blob ${reference.digest}`);
  }
  const bytes = await client.getBlob(repository, { mediaType: 'application/octet-stream', ...found });
  const output = context.flags.output;
  await writeOutput(bytes, typeof output === 'string' ? output : undefined, context.io.stdout);
}
