import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeJwtKeyId, signJwt, verifyJwt } from './json-web-token.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const now = new Date('2030-01-01T00:00:00Z');
const nowSeconds = now.getTime() / 1000;
const claims = {
  iss: 'stevedore',
  sub: 'alice',
  aud: 'registry',
  exp: nowSeconds + 300,
  nbf: nowSeconds,
  iat: nowSeconds,
  access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
};

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const reason = (verification: ReturnType<typeof verifyJwt>) => (verification.ok ? 'ok' : verification.reason);

describe('signJwt and verifyJwt', () => {
  it('round-trip claims and header', () => {
    const token = signJwt(claims, privateKey, { kid: 'KEY1' });
    const [header, payload, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({
      alg: 'ES256',
      typ: 'JWT',
      kid: 'KEY1',
    });
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString())).toEqual(claims);
    // IEEE P1363: r and s, 32 bytes each (RFC 7518, section 3.4), not DER.
    expect(Buffer.from(signature as string, 'base64url').byteLength).toBe(64);

    const verification = verifyJwt(token, publicKey, { now, audience: 'registry', issuer: 'stevedore' });
    expect(verification).toEqual({
      ok: true,
      header: { alg: 'ES256', typ: 'JWT', kid: 'KEY1' },
      claims,
    });
    // The private key verifies too (its public half is used).
    expect(verifyJwt(token, privateKey, { now }).ok).toBe(true);
  });

  it('does not let header extras change the algorithm', () => {
    const token = signJwt(claims, privateKey, { alg: 'none' });
    expect(verifyJwt(token, publicKey, { now }).ok).toBe(true);
  });

  it('refuses a tampered payload or signature, or another key', () => {
    const token = signJwt(claims, privateKey);
    const [header, , signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${base64url({ ...claims, sub: 'mallory' })}.${signature}`;
    expect(reason(verifyJwt(forged, publicKey, { now }))).toBe('the token signature does not verify');

    const bytes = Buffer.from(signature, 'base64url');
    bytes[10] = (bytes[10] as number) ^ 1;
    const flipped = `${token.slice(0, token.lastIndexOf('.'))}.${bytes.toString('base64url')}`;
    expect(reason(verifyJwt(flipped, publicKey, { now }))).toBe('the token signature does not verify');

    expect(reason(verifyJwt(token, other.publicKey, { now }))).toBe('the token signature does not verify');

    // A DER signature (what sign() gives by default) is not the JWS encoding.
    const input = token.slice(0, token.lastIndexOf('.'));
    const der = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
    expect(verifyJwt(`${input}.${der}`, publicKey, { now }).ok).toBe(false);
  });

  it('refuses alg none and other algorithms', () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
    expect(reason(verifyJwt(unsigned, publicKey, { now }))).toBe(
      'the token algorithm is "none", expected "ES256"',
    );

    const token = signJwt(claims, privateKey);
    const signature = token.slice(token.lastIndexOf('.') + 1);
    const hs256 = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(claims)}.${signature}`;
    expect(reason(verifyJwt(hs256, publicKey, { now }))).toContain('"HS256"');

    const crit = signJwt(claims, privateKey, { crit: ['exp'] });
    expect(reason(verifyJwt(crit, publicKey, { now }))).toContain('crit');
  });

  it('refuses what is not a compact JWS', () => {
    for (const token of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      'a+b.c.d',
      `${base64url([1])}.${base64url(claims)}.AAAA`,
    ]) {
      expect(verifyJwt(token, publicKey, { now }).ok).toBe(false);
    }
    const notJson = `${base64url({ alg: 'ES256' })}.${Buffer.from('not json').toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(notJson), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(reason(verifyJwt(`${notJson}.${signature.toString('base64url')}`, publicKey, { now }))).toBe(
      'the token claims are not a JSON object',
    );
  });

  it('checks exp, nbf and iat with leeway', () => {
    const at = (offsetSeconds: number) => new Date(now.getTime() + offsetSeconds * 1000);
    const token = signJwt(claims, privateKey);
    // exp is now + 300: valid until then, and 60 s of leeway after.
    expect(verifyJwt(token, publicKey, { now: at(299) }).ok).toBe(true);
    expect(verifyJwt(token, publicKey, { now: at(359) }).ok).toBe(true);
    expect(reason(verifyJwt(token, publicKey, { now: at(360) }))).toBe('the token has expired');
    expect(reason(verifyJwt(token, publicKey, { now: at(310), leewaySeconds: 0 }))).toBe(
      'the token has expired',
    );

    // nbf and iat are now: a clock 60 s behind is tolerated, more is not.
    expect(verifyJwt(token, publicKey, { now: at(-60) }).ok).toBe(true);
    expect(reason(verifyJwt(token, publicKey, { now: at(-61) }))).toBe('the token is not valid yet ("nbf")');
    const issuedLater = signJwt({ ...claims, nbf: undefined, iat: nowSeconds + 120 }, privateKey);
    expect(reason(verifyJwt(issuedLater, publicKey, { now }))).toBe(
      'the token is issued in the future ("iat")',
    );

    const forever = signJwt({ ...claims, exp: undefined }, privateKey);
    expect(reason(verifyJwt(forever, publicKey, { now }))).toBe('the token has no expiry ("exp")');
  });

  it('checks audience and issuer when asked', () => {
    const token = signJwt(claims, privateKey);
    expect(reason(verifyJwt(token, publicKey, { now, audience: 'elsewhere' }))).toBe(
      'the token audience is not "elsewhere"',
    );
    expect(reason(verifyJwt(token, publicKey, { now, issuer: 'mallory' }))).toBe(
      'the token issuer is not "mallory"',
    );
    const several = signJwt({ ...claims, aud: ['a', 'registry'] }, privateKey);
    expect(verifyJwt(several, publicKey, { now, audience: 'registry' }).ok).toBe(true);
    expect(verifyJwt(several, publicKey, { now, audience: 'b' }).ok).toBe(false);
    const none = signJwt({ ...claims, aud: undefined }, privateKey);
    expect(verifyJwt(none, publicKey, { now, audience: 'registry' }).ok).toBe(false);
    expect(verifyJwt(none, publicKey, { now }).ok).toBe(true);
  });

  it('requires EC P-256 keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => signJwt(claims, rsa.privateKey)).toThrow(TypeError);
    expect(() => signJwt(claims, p384.privateKey)).toThrow(TypeError);
    expect(() => signJwt(claims, publicKey)).toThrow(TypeError);
    expect(() => verifyJwt(signJwt(claims, privateKey), rsa.publicKey)).toThrow(TypeError);
  });
});

describe('computeJwtKeyId', () => {
  it('is libtrust key id: base32 of the first 240 bits of sha256(DER SPKI), in groups of four', () => {
    // Expected value computed apart with Python: base64.b32encode(sha256(der).digest()[:30]).
    const der =
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnB89p2R7wVTj2dGVmxfhl4yeQsF5FAqx23tebc9r/chnN6fWW+1lGDBbSPxw3Ksmf0Hv6XJmSDoJSz8LPCskfw==';
    const key = createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' });
    expect(computeJwtKeyId(key)).toBe('ZIYW:7OUM:UJBI:5X44:5TUF:6IA2:TN6N:MUCP:TLLA:OXWD:F2IN:TVYS');
  });

  it('is the same for a private key and its public key', () => {
    expect(computeJwtKeyId(privateKey)).toBe(computeJwtKeyId(publicKey));
    expect(computeJwtKeyId(other.publicKey)).not.toBe(computeJwtKeyId(publicKey));
  });
});
