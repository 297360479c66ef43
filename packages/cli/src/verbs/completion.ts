// completion: bash, zsh and fish completion scripts, generated from the verb specs (names,
// aliases, flags, the global flags) so that they stay current as verbs are added.
import { usageError } from '../errors.ts';
import { GLOBAL_FLAGS } from '../global-options.ts';
import type { FlagSpec, VerbContext, VerbSpec } from '../verb.ts';

/** The shells `stevedore completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;

/** A shell `stevedore completion` writes a script for. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** `stevedore completion bash|zsh|fish`. */
export async function runCompletion(context: VerbContext): Promise<void> {
  const shell = context.positionals[0] ?? '';
  if (!isCompletionShell(shell)) {
    throw usageError(
      `completion takes ${COMPLETION_SHELLS.join(', ')}, got ${JSON.stringify(shell)}`,
      'completion',
    );
  }
  // The script itself, also with --json: it is meant to be sourced.
  context.io.stdout.write(completionScript(shell, context.verbs));
}

/**
 * The completion script for `shell`: verbs and their aliases, each verb's flags and the
 * global flags, the values of flags that name files, platforms or a set of choices, and
 * a verb's first argument where its usage names the choices (`bash|zsh|fish`).
 *
 * @example
 * ```ts
 * writeFileSync('_stevedore', completionScript('zsh', VERBS));
 * ```
 */
export function completionScript(shell: CompletionShell, verbs: readonly VerbSpec[]): string {
  const model = modelOf(verbs);
  if (shell === 'bash') return bashScript(model);
  if (shell === 'zsh') return zshScript(model);
  return fishScript(model);
}

function isCompletionShell(text: string): text is CompletionShell {
  return (COMPLETION_SHELLS as readonly string[]).includes(text);
}

// --- What every script completes ---

/** Platforms offered for `--platform` (any other may be typed). */
const PLATFORMS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm64/v8',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'windows/amd64',
];

/** What a flag's value completes to. */
type ValueKind =
  | { readonly kind: 'none' }
  | { readonly kind: 'files' }
  | { readonly kind: 'choices'; readonly choices: readonly string[] };

interface FlagModel {
  readonly long: string;
  readonly short: string | undefined;
  readonly description: string;
  readonly multiple: boolean;
  /** `undefined` for a boolean flag. */
  readonly value: { readonly placeholder: string; readonly completes: ValueKind } | undefined;
}

interface VerbModel {
  /** The name, then the aliases. */
  readonly names: readonly string[];
  readonly summary: string;
  readonly flags: readonly FlagModel[];
  /** Whether it takes arguments at all. */
  readonly takesArguments: boolean;
  /** The choices of its first argument, when its usage names them (`token`, `bash|zsh|fish`). */
  readonly firstChoices: readonly string[];
}

interface Model {
  readonly verbs: readonly VerbModel[];
  readonly global: readonly FlagModel[];
}

const CHOICES = /^[a-z0-9][a-z0-9.-]*(\|[a-z0-9][a-z0-9.-]*)*$/;

function modelOf(verbs: readonly VerbSpec[]): Model {
  return {
    global: flagsOf(GLOBAL_FLAGS),
    verbs: verbs.map((verb) => ({
      names: [verb.name, ...(verb.aliases ?? [])],
      summary: verb.summary,
      flags: flagsOf(verb.flags ?? {}),
      takesArguments: verb.arguments[1] > 0,
      firstChoices: CHOICES.test(verb.usage.split(' ')[0] ?? '')
        ? (verb.usage.split(' ')[0] as string).split('|')
        : [],
    })),
  };
}

function flagsOf(flags: Readonly<Record<string, FlagSpec>>): FlagModel[] {
  return Object.entries(flags).map(([name, flag]) => ({
    long: `--${name}`,
    short: flag.short === undefined ? undefined : `-${flag.short}`,
    description: flag.description,
    multiple: flag.multiple === true,
    value:
      flag.type === 'string'
        ? { placeholder: flag.value ?? 'VALUE', completes: valueKindOf(flag.value ?? 'VALUE') }
        : undefined,
  }));
}

function valueKindOf(placeholder: string): ValueKind {
  if (CHOICES.test(placeholder) && placeholder.includes('|')) {
    return { kind: 'choices', choices: placeholder.split('|') };
  }
  if (placeholder.startsWith('OS/ARCH')) return { kind: 'choices', choices: PLATFORMS };
  if (/(^|[^A-Z])(FILE|DIR|PATH|CERT|ENDPOINT)([^A-Z]|$)/.test(placeholder)) return { kind: 'files' };
  return { kind: 'none' };
}

function flagWords(flags: readonly FlagModel[]): string[] {
  return flags.flatMap((flag) => (flag.short === undefined ? [flag.long] : [flag.long, flag.short]));
}

/** The verb `help` takes a verb name; it is no spec of its own. */
const HELP_SUMMARY = 'show the help of the command or of a verb';

// --- bash ---

/** `text` in single quotes for sh and bash. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function bashScript(model: Model): string {
  const verbNames = [...model.verbs.flatMap((verb) => verb.names), 'help'];
  const globalValues = model.global.filter((flag) => flag.value !== undefined);
  const cases: string[] = [];
  for (const verb of model.verbs) {
    const values = verb.flags.filter((flag) => flag.value !== undefined);
    const settings = [
      `name=${verb.names[0]}`,
      `flags=${shellQuote(flagWords(verb.flags).join(' '))}`,
      `values=${shellQuote(flagWords(values).join(' '))}`,
      `arguments=${verb.takesArguments ? 1 : 0}`,
      `choices=${shellQuote(verb.firstChoices.join(' '))}`,
    ];
    cases.push(`    ${verb.names.join('|')}) ${settings.join(' ')} ;;`);
  }
  // The values of flags that take one of some choices (`--platform`, `--compression`),
  // as "VERB FLAG" patterns: a verb's own flags first, then the global ones, for any verb.
  // Other values complete to file names (complete -o default).
  const valueCases: string[] = [];
  const addValueCase = (patterns: readonly string[], flag: FlagModel) => {
    if (flag.value?.completes.kind !== 'choices') return;
    const words = shellQuote(flag.value.completes.choices.join(' '));
    valueCases.push(`    ${patterns.join('|')}) COMPREPLY=($(compgen -W ${words} -- "$cur")) ;;`);
  };
  const namesOf = (flag: FlagModel) => [flag.long, flag.short].filter((each) => each !== undefined);
  for (const verb of model.verbs) {
    for (const flag of verb.flags) {
      addValueCase(
        namesOf(flag).map((name) => shellQuote(`${verb.names[0]} ${name}`)),
        flag,
      );
    }
  }
  for (const flag of model.global) {
    addValueCase(
      namesOf(flag).map((name) => `*${shellQuote(` ${name}`)}`),
      flag,
    );
  }
  return `# bash completion for stevedore, generated from its verbs by "stevedore completion bash".
# Load it with: source <(stevedore completion bash)

_stevedore() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  # --flag=value: bash splits at the "="
  if [[ $cur == = ]]; then
    cur=''
  elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then
    prev=\${COMP_WORDS[COMP_CWORD-2]}
  fi
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W '--help -h --version' -- "$cur"))
    else
      COMPREPLY=($(compgen -W ${shellQuote(verbNames.join(' '))} -- "$cur"))
    fi
    return
  fi
  local verb=\${COMP_WORDS[1]} name='' flags='' values='' arguments=0 choices=''
  case $verb in
    help)
      ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W ${shellQuote(verbNames.join(' '))} -- "$cur"))
      return
      ;;
${cases.join('\n')}
    *) return ;;
  esac
  flags="$flags "${shellQuote(flagWords(model.global).join(' '))}
  values="$values "${shellQuote(flagWords(globalValues).join(' '))}

  # the value of a flag
  if [[ " $values " == *" $prev "* ]]; then
    case "$name $prev" in
${valueCases.join('\n')}
    esac
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  # the arguments before this one, flags and their values left out
  local index count=0 skip=0 word
  for ((index = 2; index < COMP_CWORD; index++)); do
    word=\${COMP_WORDS[index]}
    if [[ $word == = ]]; then
      skip=1
    elif ((skip)); then
      skip=0
    elif [[ $word == -* ]]; then
      [[ " $values " == *" $word "* ]] && skip=1
    else
      count=$((count + 1))
    fi
  done
  if ((count == 0)) && [[ -n $choices ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  elif ((arguments == 0)); then
    compopt +o default 2>/dev/null
  fi
  # otherwise file names and endpoints (complete -o default)
}

complete -o default -F _stevedore stevedore
`;
}

// --- zsh ---

/** `text` as a description inside `[…]` of an `_arguments` spec. */
function zshDescription(text: string): string {
  return text.replace(/[\\[\]]/g, '\\$&');
}

/** `text` as the message of an `_arguments` spec (after a colon). */
function zshMessage(text: string): string {
  return text.replace(/[\\:]/g, '\\$&');
}

function zshAction(kind: ValueKind): string {
  if (kind.kind === 'files') return '_files';
  if (kind.kind === 'choices') return `(${kind.choices.join(' ')})`;
  return ' ';
}

/** The `_arguments` specs of some flags, each a shell word (quoted). */
function zshFlagSpecs(flags: readonly FlagModel[]): string[] {
  return flags.map((flag) => {
    const repeat = flag.multiple ? '*' : '';
    const description = `[${zshDescription(flag.description)}]`;
    const value =
      flag.value === undefined
        ? ''
        : `:${zshMessage(flag.value.placeholder)}:${zshAction(flag.value.completes)}`;
    if (flag.short === undefined) {
      return shellQuote(`${repeat}${flag.long}${flag.value === undefined ? '' : '='}${description}${value}`);
    }
    const exclusive = flag.multiple ? '' : shellQuote(`(${flag.short} ${flag.long})`);
    const names =
      flag.value === undefined ? `{${flag.short},${flag.long}}` : `{${flag.short}+,${flag.long}=}`;
    return `${exclusive}${repeat === '' ? '' : `'*'`}${names}${shellQuote(`${description}${value}`)}`;
  });
}

function zshScript(model: Model): string {
  const describe = (names: readonly string[], summary: string) =>
    names.map((name) => `    ${shellQuote(`${name}:${summary}`)}`);
  const verbLines = [
    ...model.verbs.flatMap((verb) => describe(verb.names, verb.summary)),
    ...describe(['help'], HELP_SUMMARY),
  ];
  const cases = model.verbs.map((verb) => {
    const specs = [...zshFlagSpecs(verb.flags), '$global'];
    if (verb.firstChoices.length > 0) specs.push(shellQuote(`1:argument:(${verb.firstChoices.join(' ')})`));
    if (verb.takesArguments) specs.push(shellQuote('*:argument:_files'));
    return `        (${verb.names.join('|')})\n          _arguments -s -S ${specs.join(' ')}\n          ;;`;
  });
  return `#compdef stevedore
# zsh completion for stevedore, generated from its verbs by "stevedore completion zsh".
# Save it as _stevedore in a directory of $fpath, or load it with:
#   source <(stevedore completion zsh)

_stevedore() {
  local curcontext=$curcontext state line
  local -a verbs global
  verbs=(
${verbLines.join('\n')}
  )
  global=(
${zshFlagSpecs(model.global)
  .map((spec) => `    ${spec}`)
  .join('\n')}
  )
  _arguments -C \\
    '(- *)--version[print the version]' \\
    '(- *)'{-h,--help}'[show help]' \\
    '1: :->verb' \\
    '*:: :->arguments'
  case $state in
    (verb)
      _describe -t verbs 'stevedore verb' verbs
      ;;
    (arguments)
      curcontext=\${curcontext%:*:*}:stevedore-$words[1]:
      case $words[1] in
        (help)
          _describe -t verbs 'stevedore verb' verbs
          ;;
${cases.join('\n')}
      esac
      ;;
  esac
}

if (( $+functions[compdef] )); then
  compdef _stevedore stevedore
fi
# Autoloaded from $fpath (not sourced): complete now.
if [[ $funcstack[1] == _stevedore ]]; then
  _stevedore "$@"
fi
`;
}

// --- fish ---

/** `text` in single quotes for fish. */
function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`;
}

function fishFlagLines(flags: readonly FlagModel[], condition: string): string[] {
  return flags.map((flag) => {
    const parts = ['complete -c stevedore', `-n ${fishQuote(condition)}`, `-l ${flag.long.slice(2)}`];
    if (flag.short !== undefined) parts.push(`-s ${flag.short.slice(1)}`);
    const completes = flag.value?.completes;
    if (completes?.kind === 'files') parts.push('-r -F');
    else if (completes?.kind === 'choices') parts.push(`-x -a ${fishQuote(completes.choices.join(' '))}`);
    else if (completes !== undefined) parts.push('-x');
    parts.push(`-d ${fishQuote(flag.description)}`);
    return parts.join(' ');
  });
}

function fishScript(model: Model): string {
  const lines: string[] = [];
  const verbLine = (name: string, summary: string) =>
    `complete -c stevedore -n __stevedore_needs_verb -f -a ${fishQuote(name)} -d ${fishQuote(summary)}`;
  for (const verb of model.verbs) {
    for (const name of verb.names) lines.push(verbLine(name, verb.summary));
  }
  lines.push(verbLine('help', HELP_SUMMARY));
  lines.push(
    'complete -c stevedore -n __stevedore_needs_verb -l help -s h -d "show help"',
    'complete -c stevedore -n __stevedore_needs_verb -l version -d "print the version"',
  );
  const allNames = model.verbs.flatMap((verb) => verb.names);
  lines.push(
    `complete -c stevedore -n '__stevedore_verb_is help; and __stevedore_argument_count 0' -f -a ${fishQuote(allNames.join(' '))}`,
    "complete -c stevedore -n '__stevedore_verb_is help' -f",
  );
  lines.push(...fishFlagLines(model.global, 'not __stevedore_needs_verb; and not __stevedore_verb_is help'));
  for (const verb of model.verbs) {
    const condition = `__stevedore_verb_is ${verb.names.join(' ')}`;
    lines.push(...fishFlagLines(verb.flags, condition));
    if (verb.firstChoices.length > 0) {
      lines.push(
        `complete -c stevedore -n ${fishQuote(`${condition}; and __stevedore_argument_count 0`)} -f -a ${fishQuote(verb.firstChoices.join(' '))}`,
      );
    }
    if (!verb.takesArguments) {
      lines.push(`complete -c stevedore -n ${fishQuote(condition)} -f`);
    }
  }
  return `# fish completion for stevedore, generated from its verbs by "stevedore completion fish".
# Save it as ~/.config/fish/completions/stevedore.fish, or load it with:
#   stevedore completion fish | source

function __stevedore_needs_verb
    set -l tokens (commandline -opc)
    test (count $tokens) -eq 1
end

function __stevedore_verb_is
    set -l tokens (commandline -opc)
    test (count $tokens) -ge 2; and contains -- $tokens[2] $argv
end

# Whether the arguments after the verb (flags left out) number $argv[1].
function __stevedore_argument_count
    set -l tokens (commandline -opc)
    set -l count 0
    for token in $tokens[3..-1]
        string match -q -- '-*' $token; or set count (math $count + 1)
    end
    test $count -eq $argv[1]
end

${lines.join('\n')}
`;
}
