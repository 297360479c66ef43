import { describe, expect, it } from 'vitest';
import { endpointOf, registryHostOf, registryHostsOf, registryReferenceOf } from './endpoints.ts';

describe('endpoints on the command line', () => {
  it('takes bare references as registry endpoints and leaves prefixed ones alone', () => {
    expect(endpointOf('alpine:3.20')).toBe('docker://alpine:3.20');
    expect(endpointOf('localhost:5000/app')).toBe('docker://localhost:5000/app');
    expect(endpointOf('oci:./layout:v1')).toBe('oci:./layout:v1');
    expect(endpointOf('docker-archive:a.tar')).toBe('docker-archive:a.tar');
    expect(registryReferenceOf('docker://ghcr.io/a/b:1', 'tag')).toBe('ghcr.io/a/b:1');
    expect(() => registryReferenceOf('oci:./x', 'tag')).toThrow(/registries only/);
  });

  it('finds the registry hosts a command line names, as docker reads references', () => {
    expect(registryHostOf('localhost:5000/app:v1')).toBe('localhost:5000');
    expect(registryHostOf('registry.example/team/app')).toBe('registry.example');
    expect(registryHostOf('team/app:v1')).toBeUndefined();
    expect(registryHostOf('alpine:3.20')).toBeUndefined();
    expect(registryHostOf('oci:./layout')).toBeUndefined();
    expect(
      registryHostsOf([
        '10.0.0.5:5000',
        'alpine:3.20',
        'localhost:5000/a',
        'localhost:5000/b',
        'oci:x',
        'reg.example',
      ]),
    ).toEqual(['10.0.0.5:5000', 'localhost:5000', 'reg.example']);
  });
});
