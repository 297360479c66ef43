import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSemver, parseSemver, type Semver } from './semver.ts';

function compareTags(a: string, b: string): number {
  const first = parseSemver(a);
  const second = parseSemver(b);
  if (first === undefined || second === undefined) throw new Error(`not semver: ${a} or ${b}`);
  return compareSemver(first, second);
}

describe('parseSemver', () => {
  it.each([
    ['1.2.3', { major: '1', minor: '2', patch: '3', prerelease: [], build: [] }],
    ['v0.0.0', { major: '0', minor: '0', patch: '0', prerelease: [], build: [] }],
    ['v1.10.0-rc.1', { major: '1', minor: '10', patch: '0', prerelease: ['rc', '1'], build: [] }],
    [
      '1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay',
      {
        major: '1',
        minor: '0',
        patch: '0',
        prerelease: ['alpha-a', 'b-c-somethinglong'],
        build: ['build', '1-aef', '1-its-okay'],
      },
    ],
    [
      '1.0.0+0.build.1-rc.10000aaa-kk-0.1',
      { prerelease: [], build: ['0', 'build', '1-rc', '10000aaa-kk-0', '1'] },
    ],
    ['1.0.0-0A.is.legal', { prerelease: ['0A', 'is', 'legal'] }],
    ['99999999999999999999999.999999999999999999.99999999999999999', { major: '99999999999999999999999' }],
  ] as const)('reads %s', (tag, expected) => {
    expect(parseSemver(tag)).toMatchObject(expected);
  });

  it.each([
    'latest',
    '',
    'v',
    '1',
    '1.2',
    'v1.2',
    '1.2.3.4',
    '01.2.3',
    '1.02.3',
    '1.2.03',
    '1.2.3-01',
    '1.2.3-rc.01',
    '1.2.3-',
    '1.2.3+',
    '1.2.3-rc..1',
    '1.2.3+build..1',
    '1.2.3-rc_1',
    'V1.2.3',
    'vv1.2.3',
    ' 1.2.3',
    '1.2.3 ',
    '-1.2.3',
    'v1.2.3-rc.1\n',
    'ubuntu-1.2.3',
  ])('leaves out %j', (tag) => {
    expect(parseSemver(tag)).toBeUndefined();
  });
});

describe('compareSemver', () => {
  it('orders the precedence examples of semver.org, item 11', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '2.0.0',
      '2.1.0',
      '2.1.1',
      'v2.10.0',
      '10.0.0-0',
      '10.0.0',
    ];
    const shuffled = [...ordered].reverse();
    shuffled.push(...shuffled.splice(0, 5));
    expect(shuffled.sort(compareTags)).toEqual(ordered);
  });

  it.each([
    ['v1.2.3', '1.2.3'],
    ['1.2.3+a', '1.2.3+b'],
    ['1.2.3-rc.1+a', 'v1.2.3-rc.1'],
  ])('gives %s and %s the same precedence', (a, b) => {
    expect(compareTags(a, b)).toBe(0);
  });

  it.each([
    ['1.0.0-2', '1.0.0-10'], // numerically, not as text
    ['1.0.0-10', '1.0.0-a'], // numbers before other identifiers
    ['1.0.0-B', '1.0.0-a'], // by ASCII: uppercase first
    ['1.0.0-a', '1.0.0-a.0'], // the shorter list first
    ['1.0.0-a.b', '1.0.0-a-b'], // `a` before `a-b`: by ASCII a prefix comes first
    ['9.9.9', '10.0.0'],
    ['99999999999999999998.0.0', '99999999999999999999.0.0'], // past Number.MAX_SAFE_INTEGER
  ])('puts %s before %s', (a, b) => {
    expect(compareTags(a, b)).toBeLessThan(0);
    expect(compareTags(b, a)).toBeGreaterThan(0);
  });

  const number = fc.bigInt({ min: 0n, max: 10n ** 20n });
  const identifier = fc.oneof(
    number.map(String),
    fc.stringMatching(/^[0-9a-zA-Z-]{0,3}[a-zA-Z-][0-9a-zA-Z-]{0,3}$/),
  );
  const version = fc.record({
    major: number,
    minor: number,
    patch: number,
    prerelease: fc.array(identifier, { maxLength: 4 }),
    build: fc.array(fc.stringMatching(/^[0-9a-zA-Z-]{1,5}$/), { maxLength: 3 }),
    v: fc.boolean(),
  });
  type Generated = typeof version extends fc.Arbitrary<infer T> ? T : never;
  const format = (generated: Generated) =>
    `${generated.v ? 'v' : ''}${generated.major}.${generated.minor}.${generated.patch}` +
    (generated.prerelease.length === 0 ? '' : `-${generated.prerelease.join('.')}`) +
    (generated.build.length === 0 ? '' : `+${generated.build.join('.')}`);
  // The reference ordering, written out from item 11 with BigInt arithmetic.
  const reference = (a: Generated, b: Generated): number => {
    for (const key of ['major', 'minor', 'patch'] as const)
      if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
    if (a.prerelease.length === 0 || b.prerelease.length === 0)
      return (a.prerelease.length === 0 ? 1 : 0) - (b.prerelease.length === 0 ? 1 : 0);
    for (let position = 0; position < Math.min(a.prerelease.length, b.prerelease.length); position++) {
      const x = a.prerelease[position] as string;
      const y = b.prerelease[position] as string;
      if (x === y) continue;
      const xNumber = /^\d+$/.test(x);
      const yNumber = /^\d+$/.test(y);
      if (xNumber && yNumber) return BigInt(x) < BigInt(y) ? -1 : 1;
      if (xNumber !== yNumber) return xNumber ? -1 : 1;
      return x < y ? -1 : 1;
    }
    return Math.sign(a.prerelease.length - b.prerelease.length);
  };

  it('reads back every version it is given, with or without v', () => {
    fc.assert(
      fc.property(version, (generated) => {
        const parsed = parseSemver(format(generated)) as Semver;
        expect(parsed).toEqual({
          major: String(generated.major),
          minor: String(generated.minor),
          patch: String(generated.patch),
          prerelease: generated.prerelease,
          build: generated.build,
        });
      }),
    );
  });

  it('agrees with the precedence rules written out with BigInt', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(Math.sign(compareTags(format(a), format(b)))).toBe(reference(a, b));
      }),
    );
  });

  it('is antisymmetric and transitive', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        const [x, y, z] = [a, b, c].map((generated) => parseSemver(format(generated)) as Semver) as [
          Semver,
          Semver,
          Semver,
        ];
        expect(Math.sign(compareSemver(x, y))).toBe(-Math.sign(compareSemver(y, x)));
        if (compareSemver(x, y) <= 0 && compareSemver(y, z) <= 0)
          expect(compareSemver(x, z)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
