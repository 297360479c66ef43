import { readFile } from 'node:fs/promises';
import { computeDigest } from '@stevedore/digest';
import { describe, expect, it } from 'vitest';
import {
  checkImageConfig,
  type ImageConfig,
  ManifestError,
  parseImageConfig,
  serializeImageConfig,
} from './index.ts';

const fixtureBytes = (name: string) => readFile(new URL(`../test/fixtures/${name}`, import.meta.url));

const minimal = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
};

function rejectionPath(value: unknown): string | undefined {
  try {
    parseImageConfig(JSON.stringify(value));
  } catch (error) {
    expect(ManifestError.is(error, 'ERR_CONFIG_INVALID')).toBe(true);
    return (error as ManifestError).path;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseImageConfig', () => {
  it('reads the image-spec example config', async () => {
    const config = parseImageConfig(await fixtureBytes('spec-config.json'));
    expect(config.architecture).toBe('amd64');
    expect(config.config?.Entrypoint).toEqual(['/bin/my-app-binary']);
    expect(config.config?.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(config.config?.Volumes).toHaveProperty(['/var/log/my-app-logs']);
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.history?.[1]?.empty_layer).toBe(true);
    // Docker-era fields outside the OCI spec survive
    expect((config.config as Record<string, unknown>).Memory).toBe(2048);
  });

  it('reads a real Docker config with nulls and Docker-only fields (fedora:33), digest as listed', async () => {
    const bytes = await fixtureBytes('docker-config.json');
    expect((await computeDigest(bytes)).toString()).toBe(
      'sha256:a78267678b7e6e849c7e960b09227b737a38d5073a5071b041a16bd4b609ef92',
    );
    const config = parseImageConfig(bytes);
    expect(config.config?.Entrypoint).toBeNull();
    expect(config.config?.Labels).toEqual({ maintainer: 'Clement Verna <cverna@fedoraproject.org>' });
    expect(config).toHaveProperty('docker_version');
    expect(config).toHaveProperty('container_config.Hostname');
  });

  it('keeps unknown fields through parse → change → serialize → parse', async () => {
    const config = parseImageConfig(await fixtureBytes('docker-config.json'));
    const changed: ImageConfig = { ...config, config: { ...config.config, Env: ['A=1'], User: 'nobody' } };
    const reparsed = parseImageConfig(serializeImageConfig(changed));
    expect(reparsed.config?.Env).toEqual(['A=1']);
    expect(reparsed.config?.User).toBe('nobody');
    expect(reparsed.config?.Cmd).toEqual(['/bin/bash']);
    expect(reparsed).toHaveProperty(
      'docker_version',
      (config as unknown as { docker_version: string }).docker_version,
    );
    expect(reparsed).toHaveProperty('config.Image', (config.config as Record<string, unknown>).Image);
  });

  it('freezes the result', () => {
    const config = parseImageConfig(JSON.stringify(minimal));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rootfs.diff_ids)).toBe(true);
  });

  it.each([
    ['$', []],
    ['$.architecture', { ...minimal, architecture: undefined }],
    ['$.os', { ...minimal, os: 7 }],
    ['$.rootfs', { ...minimal, rootfs: undefined }],
    ['$.rootfs.type', { ...minimal, rootfs: { diff_ids: [] } }],
    ['$.rootfs.diff_ids', { ...minimal, rootfs: { type: 'layers' } }],
    ['$.rootfs.diff_ids[0]', { ...minimal, rootfs: { type: 'layers', diff_ids: ['sha256:nope'] } }],
    ['$.config', { ...minimal, config: 'x' }],
    ['$.config.Env[1]', { ...minimal, config: { Env: ['A=1', 2] } }],
    ['$.config.Entrypoint', { ...minimal, config: { Entrypoint: '/bin/sh' } }],
    ['$.config.ExposedPorts["80/tcp"]', { ...minimal, config: { ExposedPorts: { '80/tcp': true } } }],
    ['$.config.Labels.a', { ...minimal, config: { Labels: { a: 1 } } }],
    ['$.config.User', { ...minimal, config: { User: 0 } }],
    ['$.config.Healthcheck.Retries', { ...minimal, config: { Healthcheck: { Retries: 'x' } } }],
    ['$.history', { ...minimal, history: {} }],
    ['$.history[0].empty_layer', { ...minimal, history: [{ empty_layer: 'yes' }] }],
    ['$.created', { ...minimal, created: 0 }],
    ['$["os.features"]', { ...minimal, 'os.features': 'x' }],
  ])('rejects a bad field at %s', (path, value) => {
    expect(rejectionPath(value)).toBe(path);
  });

  it('rejects text that is not JSON, and arguments of the wrong type', () => {
    expect(() => parseImageConfig('{')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID', path: '$' }),
    );
    expect(() => parseImageConfig(42 as unknown as string)).toThrow(TypeError);
  });

  it('checkImageConfig validates an object built in code', () => {
    expect(checkImageConfig(minimal)).toBe(minimal);
    expect(() => checkImageConfig({ ...minimal, rootfs: null })).toThrow(ManifestError);
  });
});
