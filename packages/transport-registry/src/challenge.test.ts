import { describe, expect, it } from 'vitest';
import { mergeScopes, parseChallenges, parseScopes } from './index.ts';

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    // unquoted values, spaces around "=", case of names and scheme
    [
      'BEARER Realm = https://r.example/token , Service=r.example',
      [{ scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example' } }],
    ],
    // escapes and commas inside quotes
    ['Basic realm="a \\"quoted\\", comma"', [{ scheme: 'basic', params: { realm: 'a "quoted", comma' } }]],
    // several challenges in one header
    [
      'Basic realm="r1", Bearer realm="https://t.example/token",service="s", Negotiate',
      [
        { scheme: 'basic', params: { realm: 'r1' } },
        { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 's' } },
        { scheme: 'negotiate', params: {} },
      ],
    ],
    // a token68
    [
      'Basic dXNlcjpwYXNz==, Bearer realm="x"',
      [
        { scheme: 'basic', params: { token68: 'dXNlcjpwYXNz==' } },
        { scheme: 'bearer', params: { realm: 'x' } },
      ],
    ],
    // the scope of a registry with a port, and an empty value
    [
      'Bearer realm="https://t/",scope="repository:localhost:5000/app:pull,push",error=""',
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://t/', scope: 'repository:localhost:5000/app:pull,push', error: '' },
        },
      ],
    ],
    ['', []],
    [',, ,', []],
  ] as const)('%s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  it('skips what it cannot read and keeps the rest', () => {
    expect(parseChallenges('"junk", Basic realm="r"')).toEqual([{ scheme: 'basic', params: { realm: 'r' } }]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([
      { scheme: 'bearer', params: { realm: '"unterminated' } },
    ]);
  });
});

describe('scopes', () => {
  it('parses scopes, names with ports included', () => {
    expect(parseScopes('repository:localhost:5000/app:pull,push registry:catalog:*')).toEqual([
      { type: 'repository', name: 'localhost:5000/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(parseScopes('nonsense  repository:a:pull')).toEqual([
      { type: 'repository', name: 'a', actions: ['pull'] },
    ]);
  });

  it('merges the scopes of one token request: pull before push, one entry per repository', () => {
    expect(
      mergeScopes([
        { type: 'repository', name: 'dst', actions: ['push'] },
        { type: 'repository', name: 'src', actions: ['pull'] },
        { type: 'repository', name: 'dst', actions: ['pull', 'delete'] },
        ...parseScopes('repository:dst:push'),
      ]),
    ).toEqual(['repository:dst:pull,push,delete', 'repository:src:pull']);
  });
});
