import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Digest, DigestError, isComputableAlgorithm, isDigest, parseDigest, toDigest } from './index.ts';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY_SHA512 =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

function invalidReason(text: string): string {
  try {
    parseDigest(text);
  } catch (error) {
    expect(DigestError.is(error, 'ERR_DIGEST_INVALID')).toBe(true);
    expect((error as DigestError).value).toBe(text);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseDigest', () => {
  it('parses registered algorithms into algorithm and encoded parts', () => {
    const digest = parseDigest(EMPTY_SHA256);
    expect(digest).toBeInstanceOf(Digest);
    expect(digest.algorithm).toBe('sha256');
    expect(digest.encoded).toBe(EMPTY_SHA256.slice(7));
    expect(digest.toString()).toBe(EMPTY_SHA256);
    expect(`${digest}`).toBe(EMPTY_SHA256);
    expect(JSON.stringify({ digest })).toBe(`{"digest":"${EMPTY_SHA256}"}`);
    expect(parseDigest(EMPTY_SHA512).algorithm).toBe('sha512');
  });

  it('accepts unregistered algorithms that fit the grammar (image-spec examples)', () => {
    const multihash = parseDigest('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8');
    expect(multihash.algorithm).toBe('multihash+base58');
    expect(parseDigest('sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564').encoded).toBe(
      'LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
    );
    expect(parseDigest('blake3:abc=').algorithm).toBe('blake3');
    expect(isComputableAlgorithm('multihash+base58')).toBe(false);
  });

  it('rejects malformed digests and says which part is wrong', () => {
    expect(invalidReason('')).toMatch(/<algorithm>:<encoded>/);
    expect(invalidReason('e3b0c442')).toMatch(/<algorithm>:<encoded>/);
    expect(invalidReason(':abc')).toMatch(/algorithm/);
    expect(invalidReason('SHA256:abc')).toMatch(/algorithm/);
    expect(invalidReason('sha256+:abc')).toMatch(/algorithm/);
    expect(invalidReason('sha..256:abc')).toMatch(/algorithm/);
    expect(invalidReason('sha256:')).toMatch(/encoded/);
    expect(invalidReason('foo:a/b')).toMatch(/encoded/);
    expect(invalidReason('foo:abc:def')).toMatch(/encoded/);
    expect(invalidReason(`${EMPTY_SHA256} `)).toMatch(/encoded/);
    expect(invalidReason(EMPTY_SHA256.toUpperCase().replace('SHA', 'sha'))).toMatch(/64 lowercase hex/);
    expect(invalidReason(EMPTY_SHA256.slice(0, -1))).toMatch(/64 lowercase hex/);
    expect(invalidReason(`${EMPTY_SHA256}0`)).toMatch(/64 lowercase hex/);
    expect(invalidReason(`sha512:${'a'.repeat(64)}`)).toMatch(/128 lowercase hex/);
  });

  it('cuts long offending values short in the message', () => {
    expect(invalidReason(`x${'y'.repeat(5000)}`).length).toBeLessThan(200);
  });

  it('throws TypeError for a non-string', () => {
    expect(() => parseDigest(42 as unknown as string)).toThrow(TypeError);
    expect(() => new Digest('sha256', undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('Digest', () => {
  it('is immutable and compares by value', () => {
    const digest = parseDigest(EMPTY_SHA256);
    expect(Object.isFrozen(digest)).toBe(true);
    expect(digest.equals(parseDigest(EMPTY_SHA256))).toBe(true);
    expect(digest.equals(EMPTY_SHA256)).toBe(true);
    expect(digest.equals(EMPTY_SHA512)).toBe(false);
    expect(new Digest('sha256', EMPTY_SHA256.slice(7)).equals(digest)).toBe(true);
  });

  it('toDigest passes digests through and parses text', () => {
    const digest = parseDigest(EMPTY_SHA256);
    expect(toDigest(digest)).toBe(digest);
    expect(toDigest(EMPTY_SHA256).equals(digest)).toBe(true);
    expect(() => toDigest('nope')).toThrow(DigestError);
  });
});

describe('isDigest', () => {
  it('tells valid digest strings from anything else', () => {
    expect(isDigest(EMPTY_SHA256)).toBe(true);
    expect(isDigest('sha256:abc')).toBe(false);
    expect(isDigest(undefined)).toBe(false);
    expect(isDigest(parseDigest(EMPTY_SHA256))).toBe(false);
  });

  it('agrees with parseDigest on every kind of string', () => {
    const hex = EMPTY_SHA256.slice('sha256:'.length);
    const samples = [
      EMPTY_SHA256,
      `sha512:${hex}${hex}`,
      `sha512:${hex}`,
      `sha256:${hex.toUpperCase()}`,
      'latest',
      'v1.2',
      ':abc',
      'sha256:',
      'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
      'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
      'Sha256:abc',
      'sha256:a/b',
      'sha256-:abc',
    ];
    for (const sample of samples) {
      const parses = (() => {
        try {
          parseDigest(sample);
          return true;
        } catch {
          return false;
        }
      })();
      expect(isDigest(sample), sample).toBe(parses);
    }
  });
});

describe('properties', () => {
  const component = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const algorithm = fc
    .tuple(component, fc.array(fc.tuple(fc.constantFrom('+', '.', '_', '-'), component), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([separator, part]) => separator + part).join(''))
    .filter((name) => !isComputableAlgorithm(name));
  const encoded = fc.stringMatching(/^[a-zA-Z0-9=_-]{1,80}$/);
  const hex = (length: number) =>
    fc
      .array(fc.constantFrom(...'0123456789abcdef'), { minLength: length, maxLength: length })
      .map((chars) => chars.join(''));
  const anyDigest = fc.oneof(
    fc.tuple(algorithm, encoded).map(([a, e]) => `${a}:${e}`),
    hex(64).map((h) => `sha256:${h}`),
    hex(128).map((h) => `sha512:${h}`),
  );

  it('format(parse(text)) gives the text back', () => {
    fc.assert(
      fc.property(anyDigest, (text) => {
        const digest = parseDigest(text);
        expect(digest.toString()).toBe(text);
        expect(parseDigest(digest.toString()).equals(digest)).toBe(true);
        expect(new Digest(digest.algorithm, digest.encoded).toString()).toBe(text);
      }),
    );
  });

  it('arbitrary strings either parse or fail with ERR_DIGEST_INVALID', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          anyDigest.map((d) => `${d}!`),
        ),
        (text) => {
          try {
            expect(parseDigest(text).toString()).toBe(text);
          } catch (error) {
            expect(DigestError.is(error, 'ERR_DIGEST_INVALID')).toBe(true);
          }
        },
      ),
    );
  });
});
