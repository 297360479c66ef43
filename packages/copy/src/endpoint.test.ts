import { describe, expect, it } from 'vitest';
import { toEndpoint } from './endpoint.ts';
import { CopyError, formatEndpoint, parseEndpoint } from './index.ts';

describe('parseEndpoint', () => {
  it.each([
    ['oci:./layout:v1', { transport: 'oci', path: './layout', tag: 'v1' }],
    ['oci:/abs/layout', { transport: 'oci', path: '/abs/layout' }],
    ['oci-archive:img.tar:v1', { transport: 'oci-archive', path: 'img.tar', tag: 'v1' }],
    ['docker-archive:img.tar:app:v1', { transport: 'docker-archive', path: 'img.tar', tag: 'app:v1' }],
    ['docker-archive:img.tar:@2', { transport: 'docker-archive', path: 'img.tar', index: 2 }],
    ['dir:./out', { transport: 'dir', path: './out' }],
    ['static:./site:team/app:v1', { transport: 'static', path: './site', name: 'team/app', tag: 'v1' }],
    ['static:./site:app', { transport: 'static', path: './site', name: 'app' }],
    ['docker://alpine', { transport: 'docker', reference: 'alpine' }],
    [
      `docker://localhost:5000/team/app:v1@sha256:${'a'.repeat(64)}`,
      { transport: 'docker', reference: `localhost:5000/team/app:v1@sha256:${'a'.repeat(64)}` },
    ],
  ])('%s', (text, endpoint) => {
    expect(parseEndpoint(text)).toEqual(endpoint);
    expect(formatEndpoint(parseEndpoint(text))).toBe(text);
  });

  it.each([
    ['no-prefix', /no transport prefix/],
    ['ftp:./x', /unknown transport "ftp"/],
    ['oci:', /no path/],
    ['dir:./a:b', /dir: takes a path only/],
    ['docker-archive:x.tar:@-1', /@INDEX/],
    ['static:./site', /repository name/],
    ['docker:alpine', /starts with docker:\/\//],
    ['docker://Alpine', /repository names must be lowercase/],
    ['docker://app:-bad', /tag/],
  ])('refuses %s with ERR_ENDPOINT_INVALID naming the accepted forms', (text, reason) => {
    try {
      parseEndpoint(text);
      expect.unreachable();
    } catch (error) {
      expect(CopyError.is(error, 'ERR_ENDPOINT_INVALID')).toBe(true);
      expect((error as CopyError).message).toMatch(reason);
      expect((error as CopyError).message).toContain('accepted forms: docker://REFERENCE, oci:PATH[:TAG]');
      expect((error as CopyError).endpoint).toBe(text);
    }
  });
});

describe('toEndpoint', () => {
  it('takes endpoint objects as they are, and refuses objects of no known transport', () => {
    const endpoint = { transport: 'oci', path: './layout', tag: 'v1' } as const;
    expect(toEndpoint(endpoint)).toBe(endpoint);
    for (const value of [{ transport: 'ftp', path: 'x' }, {}, null, 42]) {
      expect(() => toEndpoint(value as never)).toThrow(/transport is one of docker, oci, oci-archive/);
    }
  });
});
