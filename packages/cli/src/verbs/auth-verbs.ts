// The auth and shell verbs' specs (their code loads on demand from the files beside this one).
import type { VerbSpec } from '../verb.ts';

/** login, logout, auth token and completion. */
export const AUTH_VERBS: readonly VerbSpec[] = [
  {
    name: 'login',
    summary: 'check credentials against a registry and store them where docker keeps them',
    usage: '[REGISTRY]',
    description:
      "Logs in to REGISTRY (host[:port]; Docker Hub, docker.io, when none is given) as docker login does; on a terminal it asks for the user and the password (not shown) that the flags do not give. It first checks the user and password against the registry (GET /v2/ and its Basic or token login; refused credentials are an error and nothing is stored), then stores them where docker, podman, skopeo, crane and stevedore find them: in the credential helper docker's config names for the registry (credHelpers, else credsStore), else base64 in the auths of $DOCKER_CONFIG/config.json or ~/.docker/config.json, every other field of the file kept, written whole and renamed into place, mode 0600. Prints Login Succeeded.",
    arguments: [0, 1],
    flags: {
      username: { type: 'string', short: 'u', value: 'USER', description: 'the user to log in as' },
      password: {
        type: 'string',
        short: 'p',
        value: 'PASSWORD',
        description:
          'the password or access token (seen in the process list and shell history: prefer --password-stdin)',
      },
      'password-stdin': {
        type: 'boolean',
        description: 'read the password from stdin (up to its end; one trailing newline is dropped)',
      },
    },
    examples: [
      '# on a terminal: asked for the user and the password',
      'stevedore login ghcr.io',
      '# in CI: the password from a secret variable, never on the command line',
      'echo "$REGISTRY_TOKEN" | stevedore login ghcr.io -u ci-bot --password-stdin',
      '# a registry of your own on plain HTTP',
      'stevedore login --insecure 192.168.1.20:5000 -u alice -p wonderland',
    ],
    load: async () => (await import('./login.ts')).runLogin,
  },
  {
    name: 'logout',
    summary: "remove a registry's stored credentials",
    usage: 'REGISTRY',
    description:
      "Removes the credentials stored for REGISTRY as docker logout does: from the credential helper docker's config names for it (erase), and its entries in the auths of config.json, under every spelling of the registry (https://host, host/v2/). Prints whether there was anything to remove. Containers' auth.json (podman login) is left as it is.",
    arguments: [1, 1],
    examples: ['stevedore logout ghcr.io', 'stevedore logout docker.io'],
    load: async () => (await import('./login.ts')).runLogout,
  },
  {
    name: 'auth',
    summary: 'print a registry token for a repository, as crane auth token',
    usage: 'token REPOSITORY',
    description:
      "Asks the token service of REPOSITORY's registry for a bearer token to pull from it (with --push, to pull and push), with the stored credentials (anonymously when there are none; refused credentials are an error), and prints the token, or {token, expires_in} with --json: for curl and other tools that speak the registry API. A registry without token auth (Basic, or none) has no token to give: that is an error too.",
    arguments: [2, 2],
    flags: {
      push: { type: 'boolean', description: 'a token to pull and push, not only to pull' },
    },
    examples: [
      '# read a manifest with curl',
      'curl -H "Authorization: Bearer $(stevedore auth token ghcr.io/team/app)" https://ghcr.io/v2/team/app/manifests/latest',
      '# a token to push, with its lifetime',
      'stevedore auth token --push --json registry.example.com/team/app',
    ],
    load: async () => (await import('./login.ts')).runAuth,
  },
  {
    name: 'completion',
    summary: 'print a completion script for bash, zsh or fish',
    usage: 'bash|zsh|fish',
    description:
      "Prints a script that completes stevedore's verbs, their aliases and flags, the global flags, and the values of flags that name files, platforms or a choice, in bash, zsh or fish. Made from the verbs themselves: regenerate it after an upgrade.",
    arguments: [1, 1],
    examples: [
      '# bash: this shell, then every new one',
      'source <(stevedore completion bash)',
      'stevedore completion bash > ~/.local/share/bash-completion/completions/stevedore',
      '# zsh: a file named _stevedore in a directory of $fpath (fpath+=(~/.zfunc) before compinit in ~/.zshrc)',
      'stevedore completion zsh > ~/.zfunc/_stevedore',
      '# fish',
      'stevedore completion fish > ~/.config/fish/completions/stevedore.fish',
    ],
    load: async () => (await import('./completion.ts')).runCompletion,
  },
];
