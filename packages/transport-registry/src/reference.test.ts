import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatReference,
  isRepositoryName,
  isTag,
  parseReference,
  type Reference,
  registryApiHost,
} from './index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['team/app:v1', { registry: 'docker.io', repository: 'team/app', tag: 'v1' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/library/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['ghcr.io/org/team/app:1.0', { registry: 'ghcr.io', repository: 'org/team/app', tag: '1.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:v1', { registry: 'localhost:5000', repository: 'app', tag: 'v1' }],
    ['127.0.0.1:5000/a/b', { registry: '127.0.0.1:5000', repository: 'a/b' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    ['[fe80::1]/app', { registry: '[fe80::1]', repository: 'app' }],
    ['Registry/app', { registry: 'Registry', repository: 'app' }],
    [`app@${DIGEST}`, { registry: 'docker.io', repository: 'library/app', digest: DIGEST }],
    [`quay.io/a/b:tag@${DIGEST}`, { registry: 'quay.io', repository: 'a/b', tag: 'tag', digest: DIGEST }],
    ['a_b__c-d--e/g', { registry: 'docker.io', repository: 'a_b__c-d--e/g' }],
  ] as const)('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it.each([
    ['', 'reference'],
    ['app :v1', 'reference'],
    ['App', 'repository'],
    ['docker.io/Team/app', 'repository'],
    ['app:', 'tag'],
    ['app:-x', 'tag'],
    [`app:${'x'.repeat(129)}`, 'tag'],
    ['app@sha256:abc', 'digest'],
    [`app@md5:${'a'.repeat(32)}`, 'digest'],
    [`app@sha256:${'a'.repeat(63)}`, 'digest'],
    ['a__-b', 'repository'],
    ['a//b', 'repository'],
    ['/app', 'repository'],
    ['app/', 'repository'],
    ['-bad.io/app', 'registry'],
    ['bad_host.io/app', 'registry'],
    ['host.io:port/app', 'registry'],
    [':5000/app', 'registry'],
    [`registry.io/${'a'.repeat(250)}`, 'repository'],
    [`@${DIGEST}`, 'repository'],
  ] as const)('refuses %j naming the %s', (text, part) => {
    let caught: unknown;
    try {
      parseReference(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_REFERENCE_INVALID', reference: text });
    if (part !== 'reference') expect(caught).toMatchObject({ part });
    expect(String(caught)).toContain('invalid reference');
  });

  it('says repository names must be lowercase', () => {
    expect(() => parseReference('ghcr.io/Org/app')).toThrow('repository names must be lowercase');
  });

  it('keeps the longest name distribution accepts (255 characters)', () => {
    const repository = `a/${'b'.repeat(255 - 'registry.io/a/'.length)}`;
    expect(parseReference(`registry.io/${repository}`).repository).toBe(repository);
  });
});

describe('formatReference and registryApiHost', () => {
  it('writes full and familiar forms', () => {
    const alpine = parseReference('alpine:3.19');
    expect(formatReference(alpine)).toBe('docker.io/library/alpine:3.19');
    expect(formatReference(alpine, { familiar: true })).toBe('alpine:3.19');
    expect(formatReference(parseReference('team/app'), { familiar: true })).toBe('team/app');
    expect(formatReference(parseReference('docker.io/my.org/app'), { familiar: true })).toBe(
      'docker.io/my.org/app',
    );
    expect(formatReference(parseReference(`ghcr.io/a:b@${DIGEST}`), { familiar: true })).toBe(
      `ghcr.io/a:b@${DIGEST}`,
    );
  });

  it('sends Docker Hub requests to registry-1.docker.io', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('localhost:5000')).toBe('localhost:5000');
  });
});

const component = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,6}$/),
    fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), fc.stringMatching(/^[a-z0-9]{1,6}$/)), {
      maxLength: 2,
    }),
  )
  .map(([head, rest]) => head + rest.map(([separator, part]) => separator + part).join(''));
const registry = fc.oneof(
  fc.constantFrom('docker.io', 'ghcr.io', 'localhost', 'localhost:5000', '[::1]:5000', '127.0.0.1:8080'),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), fc.constantFrom('.io', '.example.com'))
    .map(([name, domain]) => name + domain),
);
const reference: fc.Arbitrary<Reference> = fc
  .record({
    registry,
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
    digest: fc.option(
      fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`),
      { nil: undefined },
    ),
  })
  .map(({ registry, path, tag, digest }) => ({
    registry,
    // Docker Hub names always have a namespace once normalized.
    repository: registry === 'docker.io' && path.length === 1 ? `library/${path[0]}` : path.join('/'),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  }));

describe('references round-trip', () => {
  it('through the full form', () => {
    fc.assert(
      fc.property(reference, (value) => {
        expect(parseReference(formatReference(value))).toEqual(value);
      }),
    );
  });

  it('through the familiar form', () => {
    fc.assert(
      fc.property(reference, (value) => {
        expect(parseReference(formatReference(value, { familiar: true }))).toEqual(value);
      }),
    );
  });
});

describe('repository names and tags', () => {
  it('accepts what the grammar generates and parseReference keeps', () => {
    fc.assert(
      fc.property(reference, (value) => {
        expect(isRepositoryName(value.repository)).toBe(true);
        if (value.tag !== undefined) expect(isTag(value.tag)).toBe(true);
      }),
    );
  });

  it('refuses names that could escape a directory or break the grammar', () => {
    for (const name of [
      '',
      'App',
      'a//b',
      '/a',
      'a/',
      '../a',
      'a/..',
      '_a',
      'a/_uploads',
      'a..b',
      'a-',
      `${'a'.repeat(256)}`,
    ]) {
      expect(isRepositoryName(name), name).toBe(false);
    }
    for (const tag of ['', '.a', '-a', 'a/b', 'a:b', `${'a'.repeat(129)}`])
      expect(isTag(tag), tag).toBe(false);
    expect(isTag('v1.2_3-rc')).toBe(true);
  });
});
