import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { StevedoreError } from '@stevedore/errors';
import { parseChallenges } from '@stevedore/transport-registry';
import { hashSync } from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import {
  type Access,
  type AuthDecision,
  type AuthorizeRequest,
  createAuthenticator,
  type TokenAnswer,
  type TokenRequest,
} from './authenticator.ts';
import { computeJwtKeyId, signJwt } from './json-web-token.ts';

// Cost 4 keeps the tests fast.
const users = { alice: hashSync('wonderland', 4), bob: hashSync('builder', 4) };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const baseUrl = 'http://127.0.0.1:5000';

const pull = (name: string): Access => ({ type: 'repository', name, actions: ['pull'] });
const push = (name: string): Access => ({ type: 'repository', name, actions: ['push'] });
const pullPush = (name: string): Access => ({ type: 'repository', name, actions: ['pull', 'push'] });
const catalog: Access = { type: 'registry', name: 'catalog', actions: ['*'] };

function refusal(decision: AuthDecision) {
  if (decision.ok) throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return decision;
}

function tokenRequest(
  query: string,
  authorization?: string,
  overrides: Partial<Omit<TokenRequest, 'query'>> = {},
): TokenRequest {
  return {
    method: 'GET',
    query: new URLSearchParams(query),
    authorization,
    contentType: undefined,
    body: undefined,
    ...overrides,
  };
}

function formRequest(
  form: Record<string, string>,
  contentType = 'application/x-www-form-urlencoded',
): TokenRequest {
  return {
    method: 'POST',
    query: new URLSearchParams(),
    authorization: undefined,
    contentType,
    body: new TextEncoder().encode(new URLSearchParams(form).toString()),
  };
}

function json(answer: TokenAnswer): Record<string, unknown> {
  expect(answer.headers['content-type']).toBe('application/json');
  return JSON.parse(answer.body) as Record<string, unknown>;
}

function decodeToken(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token.split('.') as [string, string];
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString()),
  };
}

async function optionsError(promise: Promise<unknown>, code = 'ERR_SERVER_OPTIONS'): Promise<StevedoreError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(StevedoreError.is(error, code)).toBe(true);
  return error as StevedoreError;
}

describe('createAuthenticator without options', () => {
  it('lets everyone do everything, anonymously', async () => {
    const authenticator = await createAuthenticator(undefined);
    expect(authenticator.issuesTokens).toBe(false);
    for (const access of [[], [pull('a')], [push('a'), catalog]]) {
      expect(await authenticator.check(undefined, access, baseUrl)).toEqual({
        ok: true,
        identity: undefined,
      });
    }
    // Credentials mean nothing here.
    expect(await authenticator.check(basic('alice', 'x'), [push('a')], baseUrl)).toEqual({
      ok: true,
      identity: undefined,
    });
    const answer = await authenticator.token(tokenRequest(''));
    expect(answer.status).toBe(404);
  });

  it('asks authorize, once per merged scope, and refuses with 403 DENIED', async () => {
    const asked: AuthorizeRequest[] = [];
    const authenticator = await createAuthenticator(undefined, (request) => {
      asked.push(request);
      return request.name.startsWith('public/') ? ['pull'] : false;
    });
    expect(await authenticator.check(undefined, [pull('public/a'), pull('public/a')], baseUrl)).toEqual({
      ok: true,
      identity: undefined,
    });
    expect(asked).toEqual([{ identity: undefined, type: 'repository', name: 'public/a', actions: ['pull'] }]);

    asked.length = 0;
    const decision = refusal(
      await authenticator.check(undefined, [push('public/a'), pull('public/a')], baseUrl),
    );
    expect(asked).toEqual([
      { identity: undefined, type: 'repository', name: 'public/a', actions: ['pull', 'push'] },
    ]);
    expect(decision).toEqual({
      ok: false,
      status: 403,
      code: 'DENIED',
      message: 'requested access to the resource is denied',
      detail: [{ type: 'repository', name: 'public/a', action: 'push' }],
    });
    expect(refusal(await authenticator.check(undefined, [pull('private/a')], baseUrl)).status).toBe(403);
    // No access needed (GET /v2/): allowed without asking.
    asked.length = 0;
    expect((await authenticator.check(undefined, [], baseUrl)).ok).toBe(true);
    expect(asked).toEqual([]);
  });

  it('rejects an authorize that is not a function', async () => {
    await expect(createAuthenticator(undefined, 'yes' as never)).rejects.toThrow(TypeError);
  });
});

describe('createAuthenticator with Basic', () => {
  it('challenges anonymous clients when anonymous is none, even on GET /v2/', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users });
    expect(authenticator.issuesTokens).toBe(false);
    expect(await authenticator.check(undefined, [], baseUrl)).toEqual({
      ok: false,
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'authentication required',
      challenge: 'Basic realm="stevedore"',
    });
    const decision = refusal(await authenticator.check(undefined, [pull('a')], baseUrl));
    expect(decision.status).toBe(401);
    expect(decision.challenge).toBe('Basic realm="stevedore"');
    expect(decision.detail).toEqual([{ type: 'repository', name: 'a', action: 'pull' }]);
  });

  it('lets an authenticated user do everything by default', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users });
    for (const access of [[], [pullPush('a')], [catalog]]) {
      expect(await authenticator.check(basic('alice', 'wonderland'), access, baseUrl)).toEqual({
        ok: true,
        identity: 'alice',
      });
    }
  });

  it('refuses bad credentials with 401, whatever anonymous may do', async () => {
    const authenticator = await createAuthenticator({
      htpasswd: users,
      anonymous: 'pull',
      realm: 'lab "one"',
    });
    for (const authorization of [
      basic('alice', 'wrong'),
      basic('carol', 'wonderland'),
      basic('', 'wonderland'),
      `Basic ${Buffer.from('alice').toString('base64')}`,
      'Basic !!!',
      'Bearer abc',
      'Digest username="alice"',
    ]) {
      const decision = refusal(await authenticator.check(authorization, [pull('a')], baseUrl));
      expect(decision).toEqual({
        ok: false,
        status: 401,
        code: 'UNAUTHORIZED',
        message: 'invalid username or password',
        challenge: 'Basic realm="lab \\"one\\""',
      });
    }
    // The realm round-trips through a challenge parser.
    const challenge = refusal(await authenticator.check(basic('alice', 'x'), [], baseUrl)).challenge;
    expect(parseChallenges(challenge as string)).toEqual([
      { scheme: 'basic', params: { realm: 'lab "one"' } },
    ]);
    // The scheme is case-insensitive.
    const lower = `basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    expect(await authenticator.check(lower, [push('a')], baseUrl)).toEqual({ ok: true, identity: 'alice' });
  });

  it('lets anonymous clients pull, and only pull, with anonymous pull', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, anonymous: 'pull' });
    expect(await authenticator.check(undefined, [], baseUrl)).toEqual({ ok: true, identity: undefined });
    expect(await authenticator.check(undefined, [pull('a'), pull('b')], baseUrl)).toEqual({
      ok: true,
      identity: undefined,
    });
    // Pushing or listing the catalog: logging in may help, so 401 with the challenge.
    for (const access of [[pullPush('a')], [catalog]]) {
      const decision = refusal(await authenticator.check(undefined, access, baseUrl));
      expect(decision.status).toBe(401);
      expect(decision.challenge).toBe('Basic realm="stevedore"');
    }
  });

  it('serves a read-only registry with no htpasswd and anonymous pull', async () => {
    const authenticator = await createAuthenticator({ anonymous: 'pull' });
    expect((await authenticator.check(undefined, [pull('a')], baseUrl)).ok).toBe(true);
    expect(refusal(await authenticator.check(undefined, [push('a')], baseUrl)).status).toBe(401);
    expect(
      refusal(await authenticator.check(basic('alice', 'wonderland'), [pull('a')], baseUrl)).status,
    ).toBe(401);
  });

  it('asks authorize for users, 403 when it refuses; anonymous are capped before it', async () => {
    const asked: AuthorizeRequest[] = [];
    const authenticator = await createAuthenticator(
      { htpasswd: users, anonymous: 'pull' },
      async (request) => {
        asked.push(request);
        if (request.identity === undefined) return request.name === 'public';
        if (request.name.startsWith(`${request.identity}/`)) return true;
        // More than asked is ignored: only the asked actions can be granted.
        return ['pull', 'delete'];
      },
    );
    expect(await authenticator.check(basic('alice', 'wonderland'), [pullPush('alice/app')], baseUrl)).toEqual(
      {
        ok: true,
        identity: 'alice',
      },
    );
    expect(asked.at(-1)).toEqual({
      identity: 'alice',
      type: 'repository',
      name: 'alice/app',
      actions: ['pull', 'push'],
    });
    expect((await authenticator.check(basic('bob', 'builder'), [pull('alice/app')], baseUrl)).ok).toBe(true);
    expect(
      refusal(await authenticator.check(basic('bob', 'builder'), [pullPush('alice/app')], baseUrl)),
    ).toEqual({
      ok: false,
      status: 403,
      code: 'DENIED',
      message: 'requested access to the resource is denied',
      detail: [{ type: 'repository', name: 'alice/app', action: 'push' }],
    });

    // Anonymous: only pull reaches the hook.
    asked.length = 0;
    expect((await authenticator.check(undefined, [pullPush('public')], baseUrl)).ok).toBe(false);
    expect(asked).toEqual([{ identity: undefined, type: 'repository', name: 'public', actions: ['pull'] }]);
    expect((await authenticator.check(undefined, [pull('public')], baseUrl)).ok).toBe(true);
    expect(refusal(await authenticator.check(undefined, [pull('private')], baseUrl)).status).toBe(401);
  });

  it('never asks authorize about anonymous clients with anonymous none', async () => {
    const asked: AuthorizeRequest[] = [];
    const authenticator = await createAuthenticator({ htpasswd: users }, (request) => {
      asked.push(request);
      return true;
    });
    expect(refusal(await authenticator.check(undefined, [pull('a')], baseUrl)).status).toBe(401);
    expect(asked).toEqual([]);
  });
});

describe('createAuthenticator with tokens', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  async function getToken(
    authenticator: Awaited<ReturnType<typeof createAuthenticator>>,
    query: string,
    authorization?: string,
  ): Promise<string> {
    const answer = await authenticator.token(tokenRequest(query, authorization));
    expect(answer.status).toBe(200);
    return json(answer).token as string;
  }

  it('challenges with Bearer, the realm, the service and the merged scopes', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: true });
    expect(authenticator.issuesTokens).toBe(true);
    expect(await authenticator.check(undefined, [], baseUrl)).toEqual({
      ok: false,
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'authentication required',
      challenge: 'Bearer realm="http://127.0.0.1:5000/token",service="stevedore"',
    });
    const decision = refusal(
      await authenticator.check(
        undefined,
        [pull('team/app'), push('team/app'), pull('base'), catalog],
        `${baseUrl}/`,
      ),
    );
    expect(decision.challenge).toBe(
      'Bearer realm="http://127.0.0.1:5000/token",service="stevedore",scope="repository:team/app:pull,push repository:base:pull registry:catalog:*"',
    );
    // Basic credentials sent to the registry itself: go get a token.
    const direct = refusal(await authenticator.check(basic('alice', 'wonderland'), [pull('base')], baseUrl));
    expect(direct.status).toBe(401);
    expect(direct.challenge).toBe(
      'Bearer realm="http://127.0.0.1:5000/token",service="stevedore",scope="repository:base:pull"',
    );
  });

  it('uses the configured realm and service', async () => {
    const authenticator = await createAuthenticator({
      htpasswd: users,
      token: { realm: 'https://registry.example/auth/token', service: 'registry.example' },
    });
    const decision = refusal(await authenticator.check(undefined, [pull('a')], baseUrl));
    expect(parseChallenges(decision.challenge as string)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://registry.example/auth/token',
          service: 'registry.example',
          scope: 'repository:a:pull',
        },
      },
    ]);
  });

  it('issues tokens by GET to users and accepts them for what they grant', async () => {
    const authenticator = await createAuthenticator({
      htpasswd: users,
      token: { privateKey: pem, expiresIn: 600, issuer: 'auth.example' },
    });
    const before = Math.floor(Date.now() / 1000);
    const answer = await authenticator.token(
      tokenRequest(
        'service=stevedore&account=alice&scope=repository:team/app:pull&scope=repository:team/app:push%20repository:base:pull&offline_token=true',
        basic('alice', 'wonderland'),
      ),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const body = json(answer);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(600);
    expect(body.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const { header, claims } = decodeToken(body.token as string);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: computeJwtKeyId(privateKey) });
    expect(claims).toEqual({
      iss: 'auth.example',
      sub: 'alice',
      aud: 'stevedore',
      exp: (claims.iat as number) + 600,
      nbf: claims.iat,
      iat: claims.iat,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      access: [
        { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'base', actions: ['pull'] },
      ],
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(Date.parse(body.issued_at as string) / 1000).toBe(claims.iat);

    const bearer = `Bearer ${body.token}`;
    expect(await authenticator.check(bearer, [pullPush('team/app'), pull('base')], baseUrl)).toEqual({
      ok: true,
      identity: 'alice',
    });
    expect(await authenticator.check(bearer, [], baseUrl)).toEqual({ ok: true, identity: 'alice' });

    // A scope the token does not hold: 401 insufficient_scope, as distribution does.
    const decision = refusal(
      await authenticator.check(bearer, [pull('base'), push('base'), catalog], baseUrl),
    );
    expect(decision).toEqual({
      ok: false,
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'requested access to the resource is denied',
      challenge:
        'Bearer realm="http://127.0.0.1:5000/token",service="stevedore",scope="repository:base:pull,push registry:catalog:*",error="insufficient_scope"',
      detail: [
        { type: 'repository', name: 'base', action: 'push' },
        { type: 'registry', name: 'catalog', action: '*' },
      ],
    });
  });

  it('refuses tokens that are bad with invalid_token', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: { privateKey: pem } });
    const now = Math.floor(Date.now() / 1000);
    const good = {
      iss: 'stevedore',
      sub: 'alice',
      aud: 'stevedore',
      exp: now + 300,
      nbf: now,
      iat: now,
      access: [{ type: 'repository', name: 'a', actions: ['pull'] }],
    };
    const sign = (claims: object, key: KeyObject = privateKey) => `Bearer ${signJwt(claims, key)}`;
    expect((await authenticator.check(sign(good), [pull('a')], baseUrl)).ok).toBe(true);

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cases: [string, string][] = [
      ['Bearer not-a-token', 'the token is not a compact JWS (three base64url parts)'],
      [sign(good, other), 'the token signature does not verify'],
      [sign({ ...good, exp: now - 120, nbf: now - 420, iat: now - 420 }), 'the token has expired'],
      [sign({ ...good, aud: 'elsewhere' }), 'the token audience is not "stevedore"'],
      [sign({ ...good, iss: 'mallory' }), 'the token issuer is not "stevedore"'],
    ];
    for (const [authorization, message] of cases) {
      expect(refusal(await authenticator.check(authorization, [pull('a')], baseUrl))).toEqual({
        ok: false,
        status: 401,
        code: 'UNAUTHORIZED',
        message,
        challenge:
          'Bearer realm="http://127.0.0.1:5000/token",service="stevedore",scope="repository:a:pull",error="invalid_token"',
      });
    }
    // Within the 60 s of leeway, an expired token still passes.
    expect((await authenticator.check(sign({ ...good, exp: now - 30 }), [pull('a')], baseUrl)).ok).toBe(true);
    // A malformed access claim grants nothing.
    const odd = sign({ ...good, access: [{ type: 'repository', name: 'a', actions: 'pull' }] });
    expect(refusal(await authenticator.check(odd, [pull('a')], baseUrl)).challenge).toContain(
      'error="insufficient_scope"',
    );
    // An anonymous token (sub '') has no identity.
    expect(await authenticator.check(sign({ ...good, sub: '' }), [pull('a')], baseUrl)).toEqual({
      ok: true,
      identity: undefined,
    });
  });

  it('gives anonymous clients a token with no actions unless anonymous pull', async () => {
    const closed = await createAuthenticator({ htpasswd: users, token: true });
    const nothing = await getToken(closed, 'service=stevedore&scope=repository:a:pull,push');
    expect(decodeToken(nothing).claims).toMatchObject({
      sub: '',
      access: [{ type: 'repository', name: 'a', actions: [] }],
    });
    expect(refusal(await closed.check(`Bearer ${nothing}`, [pull('a')], baseUrl)).challenge).toContain(
      'error="insufficient_scope"',
    );
    // Without any scope: a token good for GET /v2/ only.
    const bare = await getToken(closed, 'service=stevedore');
    expect(decodeToken(bare).claims.access).toEqual([]);
    expect(await closed.check(`Bearer ${bare}`, [], baseUrl)).toEqual({ ok: true, identity: undefined });

    const open = await createAuthenticator({ htpasswd: users, token: true, anonymous: 'pull' });
    const pullOnly = await getToken(open, 'scope=repository:a:pull,push&scope=registry:catalog:*');
    expect(decodeToken(pullOnly).claims.access).toEqual([
      { type: 'repository', name: 'a', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: [] },
    ]);
    expect(await open.check(`Bearer ${pullOnly}`, [pull('a')], baseUrl)).toEqual({
      ok: true,
      identity: undefined,
    });
    expect((await open.check(`Bearer ${pullOnly}`, [push('a')], baseUrl)).ok).toBe(false);
  });

  it('grants what authorize allows, per scope', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: true }, ({ identity, name }) =>
      name.startsWith(`${identity}/`) ? true : name === 'shared' ? ['pull'] : false,
    );
    const token = await getToken(
      authenticator,
      'scope=repository:bob/tools:pull,push repository:shared:pull,push repository:alice/app:pull',
      basic('bob', 'builder'),
    );
    expect(decodeToken(token).claims.access).toEqual([
      { type: 'repository', name: 'bob/tools', actions: ['pull', 'push'] },
      { type: 'repository', name: 'shared', actions: ['pull'] },
      { type: 'repository', name: 'alice/app', actions: [] },
    ]);
    expect((await authenticator.check(`Bearer ${token}`, [pull('shared')], baseUrl)).ok).toBe(true);
    expect((await authenticator.check(`Bearer ${token}`, [push('shared')], baseUrl)).ok).toBe(false);
  });

  it('answers bad credentials, an unknown service and other methods on GET /token', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: true, realm: 'lab' });
    for (const authorization of [basic('alice', 'wrong'), basic('nobody', 'x'), 'Bearer abc']) {
      const answer = await authenticator.token(
        tokenRequest('service=stevedore&scope=repository:a:pull', authorization),
      );
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Basic realm="lab"');
      expect(json(answer)).toEqual({
        errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }],
      });
      expect(answer.body).not.toContain('wrong');
    }
    const unknown = await authenticator.token(
      tokenRequest('service=elsewhere', basic('alice', 'wonderland')),
    );
    expect(unknown.status).toBe(400);
    expect(json(unknown)).toEqual({
      errors: [{ code: 'UNSUPPORTED', message: 'unknown service "elsewhere", expected "stevedore"' }],
    });
    const put = await authenticator.token(tokenRequest('', undefined, { method: 'PUT' }));
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
  });

  it('issues tokens by an OAuth2 password grant (POST)', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: { expiresIn: 60 } });
    const answer = await authenticator.token(
      formRequest({
        grant_type: 'password',
        username: 'alice',
        password: 'wonderland',
        service: 'stevedore',
        client_id: 'containerd-client',
        access_type: 'online',
        scope: 'repository:team/app:push repository:team/app:pull registry:catalog:*',
      }),
    );
    expect(answer.status).toBe(200);
    const body = json(answer);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'scope', 'token']);
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(60);
    expect(body.scope).toBe('repository:team/app:pull,push registry:catalog:*');
    expect(
      await authenticator.check(`Bearer ${body.access_token}`, [pullPush('team/app'), catalog], baseUrl),
    ).toEqual({ ok: true, identity: 'alice' });

    // charset parameters are fine.
    const withCharset = await authenticator.token(
      formRequest(
        { grant_type: 'password', username: 'bob', password: 'builder' },
        'application/x-www-form-urlencoded; charset=utf-8',
      ),
    );
    expect(withCharset.status).toBe(200);
    expect(json(withCharset).scope).toBe('');
  });

  it('refuses bad password grants and other grant types with OAuth2 errors', async () => {
    const authenticator = await createAuthenticator({ htpasswd: users, token: true });
    const cases: [TokenRequest, number, string][] = [
      [formRequest({ grant_type: 'password', username: 'alice', password: 'wrong' }), 400, 'invalid_grant'],
      [formRequest({ grant_type: 'password', username: 'alice' }), 400, 'invalid_request'],
      [formRequest({ grant_type: 'refresh_token', refresh_token: 'abc' }), 400, 'unsupported_grant_type'],
      [formRequest({ username: 'alice', password: 'wonderland' }), 400, 'invalid_request'],
      [
        formRequest({
          grant_type: 'password',
          username: 'alice',
          password: 'wonderland',
          service: 'elsewhere',
        }),
        400,
        'invalid_request',
      ],
      [
        formRequest(
          { grant_type: 'password', username: 'alice', password: 'wonderland' },
          'application/json',
        ),
        400,
        'invalid_request',
      ],
    ];
    for (const [request, status, error] of cases) {
      const answer = await authenticator.token(request);
      expect(answer.status).toBe(status);
      expect(json(answer).error).toBe(error);
      expect(answer.body).not.toContain('wonderland');
    }
  });
});

describe('createAuthenticator options', () => {
  it('refuses options that cannot work', async () => {
    await optionsError(createAuthenticator({ anonymous: 'push' as 'pull' }));
    await optionsError(createAuthenticator({ realm: '' }));
    await optionsError(createAuthenticator({ token: { expiresIn: 0 } }));
    await optionsError(createAuthenticator({ token: { expiresIn: 1.5 } }));
    await optionsError(createAuthenticator({ token: { realm: '/token' } }));
    await optionsError(createAuthenticator({ token: { service: 'a\nb' } }));
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await optionsError(createAuthenticator({ token: { privateKey: p384 } }));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await optionsError(createAuthenticator({ token: { privateKey: rsa.publicKey } }));
    const garbage = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    const error = await optionsError(createAuthenticator({ token: { privateKey: garbage } }));
    expect(error.message).not.toContain('c2VjcmV0');
  });

  it('passes htpasswd errors on', async () => {
    const error = await optionsError(
      createAuthenticator({ htpasswd: { alice: 'hunter2-secret' } }),
      'ERR_HTPASSWD_INVALID',
    );
    expect(error.message).toContain('"alice"');
    expect(error.message).not.toContain('hunter2');
  });
});
