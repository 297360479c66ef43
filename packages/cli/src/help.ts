// Help text for the whole command and for each verb, and the reference in docs/cli.md,
// all from the verb specs: one source for every place a flag is described.
import { GLOBAL_FLAGS } from './global-options.ts';
import type { FlagSpec, VerbSpec } from './verb.ts';

const ENDPOINTS = [
  ['docker://REFERENCE, or a bare REFERENCE', 'a registry: alpine:3.20, localhost:5000/app@sha256:…'],
  ['oci:PATH[:TAG]', 'an OCI image layout directory'],
  ['oci-archive:PATH[:TAG]', 'a tar of an OCI image layout'],
  ['docker-archive:PATH[:NAME:TAG|:@INDEX]', 'the docker save / docker load format'],
  ['dir:PATH', "containers/image's directory format"],
  ['static:PATH:NAME[:TAG]', 'the file tree of a pull-only registry, for any web host'],
] as const;

const EXIT_CODES = '0 success, 1 failure, 2 usage error (unknown verb or flag, missing argument)';

/** The help of `stevedore` itself. */
export function commandHelp(verbs: readonly VerbSpec[], version: string): string {
  const names = verbs.map((verb) => [verb.name, ...(verb.aliases ?? [])].join(', '));
  const width = Math.max(...names.map((name) => name.length));
  return [
    `stevedore ${version}: copy, inspect, build, modify and serve OCI images, no daemon needed.`,
    '',
    'Usage: stevedore VERB [ARGUMENTS] [FLAGS]',
    '',
    'Verbs:',
    ...verbs.map((verb, index) => `  ${(names[index] ?? '').padEnd(width)}  ${verb.summary}`),
    '',
    'Global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Endpoints:',
    ...endpointLines(),
    '',
    `Exit codes: ${EXIT_CODES}.`,
    'Run "stevedore VERB --help" for a verb\'s flags and examples.',
    '',
  ].join('\n');
}

/** The help of one verb. */
export function verbHelp(verb: VerbSpec): string {
  const lines = [`Usage: stevedore ${verb.name} ${verb.usage}`.trimEnd(), '', verb.description, ''];
  if (verb.aliases !== undefined && verb.aliases.length > 0)
    lines.push(`Aliases: ${verb.aliases.join(', ')}`, '');
  if (verb.flags !== undefined && Object.keys(verb.flags).length > 0) {
    lines.push('Flags:', ...flagLines(verb.flags), '');
  }
  lines.push('Global flags:', ...flagLines(GLOBAL_FLAGS), '');
  if (verb.examples.length > 0) lines.push('Examples:', ...verb.examples.map((line) => `  ${line}`), '');
  return lines.join('\n');
}

/** docs/cli.md: every verb's help as a man-style reference. */
export function referenceMarkdown(verbs: readonly VerbSpec[]): string {
  const out = [
    '# `stevedore` command reference',
    '',
    '<!-- Generated from packages/cli/src/verbs.ts by `pnpm --filter @stevedore/cli docs`; a test keeps it current. -->',
    '',
    '```text',
    'stevedore VERB [ARGUMENTS] [FLAGS]',
    '```',
    '',
    `Exit codes: ${EXIT_CODES}. Errors print one line (\`stevedore: CODE: message\`), a \`hint:\` line where one helps, and the stack only with \`--verbose\`.`,
    '',
    '## Endpoints',
    '',
    '| endpoint | what it is |',
    '| --- | --- |',
    ...ENDPOINTS.map(([form, what]) => `| \`${form}\` | ${what} |`),
    '',
    '## Global flags',
    '',
    ...flagTable(GLOBAL_FLAGS),
    '',
  ];
  for (const verb of verbs) {
    out.push(
      `## ${verb.name}`,
      '',
      verb.summary,
      '',
      '```text',
      `stevedore ${verb.name} ${verb.usage}`.trimEnd(),
      '```',
      '',
    );
    out.push(verb.description, '');
    if (verb.aliases !== undefined && verb.aliases.length > 0) {
      out.push(`Aliases: ${verb.aliases.map((alias) => `\`${alias}\``).join(', ')}.`, '');
    }
    if (verb.flags !== undefined && Object.keys(verb.flags).length > 0)
      out.push(...flagTable(verb.flags), '');
    if (verb.examples.length > 0) out.push('```sh', ...verb.examples, '```', '');
  }
  return out.join('\n');
}

function flagName(name: string, flag: FlagSpec): string {
  const short = flag.short === undefined ? '' : `-${flag.short}, `;
  const value = flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

function flagLines(flags: Readonly<Record<string, FlagSpec>>): string[] {
  const entries = Object.entries(flags);
  const names = entries.map(([name, flag]) => flagName(name, flag));
  const width = Math.max(...names.map((name) => name.length));
  return entries.map(([, flag], index) => `  ${(names[index] ?? '').padEnd(width)}  ${flag.description}`);
}

function flagTable(flags: Readonly<Record<string, FlagSpec>>): string[] {
  return [
    '| flag | meaning |',
    '| --- | --- |',
    ...Object.entries(flags).map(
      ([name, flag]) => `| \`${flagName(name, flag)}\` | ${flag.description.replaceAll('|', '\\|')} |`,
    ),
  ];
}

function endpointLines(): string[] {
  const width = Math.max(...ENDPOINTS.map(([form]) => form.length));
  return ENDPOINTS.map(([form, what]) => `  ${form.padEnd(width)}  ${what}`);
}
