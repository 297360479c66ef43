import { describe, expect, it } from 'vitest';
import { platformOfProcess } from './host-platform.ts';
import {
  formatPlatform,
  hostPlatform,
  ManifestError,
  normalizePlatform,
  parsePlatform,
  platformMatches,
} from './index.ts';

describe('parsePlatform and formatPlatform', () => {
  it('parses os/architecture[/variant] and formats it back', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform(' Linux/ARM/v7 ')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('windows(10.0.17763.1879)/amd64')).toEqual({
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763.1879',
    });
    for (const text of ['linux/amd64', 'linux/arm/v6', 'windows(10.0.20348)/amd64']) {
      expect(formatPlatform(parsePlatform(text))).toBe(text);
    }
  });

  it('rejects malformed platforms with ERR_PLATFORM_INVALID', () => {
    for (const text of ['', 'linux', 'linux/', '/amd64', 'linux/arm/v7/extra', 'linux amd64']) {
      expect(() => parsePlatform(text), text).toThrow(
        expect.objectContaining({ code: 'ERR_PLATFORM_INVALID', value: text }),
      );
    }
    expect(() => parsePlatform(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('normalizePlatform', () => {
  it.each([
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/arm64/8', 'linux/arm64/v8'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/i686', 'linux/386'],
    ['linux/ppc64el', 'linux/ppc64le'],
    ['macos/arm64', 'darwin/arm64/v8'],
    ['linux/s390x', 'linux/s390x'],
  ])('%s → %s', (input, expected) => {
    expect(formatPlatform(normalizePlatform(parsePlatform(input)))).toBe(expected);
  });

  it('keeps other fields', () => {
    expect(normalizePlatform({ os: 'windows', architecture: 'x86_64', 'os.features': ['win32k'] })).toEqual({
      os: 'windows',
      architecture: 'amd64',
      'os.features': ['win32k'],
    });
  });
});

describe('platformMatches', () => {
  it('matches after normalization and checks variants and OS versions', () => {
    const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    expect(platformMatches(parsePlatform('linux/aarch64'), arm64)).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(
      platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
    ).toBe(true);
    expect(
      platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v6' }),
    ).toBe(false);
    expect(platformMatches(parsePlatform('linux/amd64'), arm64)).toBe(false);
    expect(platformMatches(parsePlatform('windows/amd64'), { os: 'linux', architecture: 'amd64' })).toBe(
      false,
    );
    const server2019 = { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1879' };
    expect(platformMatches(parsePlatform('windows/amd64'), server2019)).toBe(true);
    expect(platformMatches(parsePlatform('windows(10.0.17763.1879)/amd64'), server2019)).toBe(true);
    expect(platformMatches(parsePlatform('windows(10.0.20348.1)/amd64'), server2019)).toBe(false);
  });
});

describe('hostPlatform', () => {
  it.each([
    [{ platform: 'linux', arch: 'x64' }, 'linux/amd64'],
    [{ platform: 'linux', arch: 'arm64' }, 'linux/arm64/v8'],
    [{ platform: 'linux', arch: 'arm', config: { variables: { arm_version: '6' } } }, 'linux/arm/v6'],
    [{ platform: 'linux', arch: 'arm' }, 'linux/arm/v7'],
    [{ platform: 'win32', arch: 'ia32' }, 'windows/386'],
    [{ platform: 'linux', arch: 'ppc64' }, 'linux/ppc64le'],
    [{ platform: 'linux', arch: 's390x' }, 'linux/s390x'],
    [{ platform: 'linux', arch: 'riscv64' }, 'linux/riscv64'],
    [{ platform: 'darwin', arch: 'arm64' }, 'darwin/arm64/v8'],
    [undefined, 'linux/amd64'],
  ])('maps %o to %s', (process, expected) => {
    expect(formatPlatform(platformOfProcess(process))).toBe(expected);
  });

  it('describes this machine', () => {
    expect(hostPlatform()).toEqual(platformOfProcess(process as Parameters<typeof platformOfProcess>[0]));
    expect(hostPlatform().os).toBe(process.platform === 'win32' ? 'windows' : process.platform);
  });
});

it('ManifestError carries the offending value', () => {
  try {
    parsePlatform('nope');
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).message).toContain('"nope"');
    return;
  }
  throw new Error('expected parsePlatform to fail');
});
