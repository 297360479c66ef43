// Who may do what: HTTP Basic against htpasswd users, or the Docker token protocol
// (https://distribution.github.io/distribution/spec/auth/token/) with this server as its
// own token service, and an optional `authorize` hook for custom policies.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { mergeScopes, parseScopes, type Scope } from '@stevedore/transport-registry';
import { ServerError } from './errors.ts';
import { type Htpasswd, readHtpasswd } from './htpasswd.ts';
import { computeJwtKeyId, signJwt, verifyJwt } from './json-web-token.ts';

/** One access a request needs: { type: 'repository' | 'registry', name, actions } (Docker token spec). Catalog is { type:'registry', name:'catalog', actions:['*'] }. */
export type Access = Scope;

/** What an {@link Authorize} hook is asked: may `identity` (`undefined` for anonymous) do `actions` on `type:name`? */
export interface AuthorizeRequest {
  readonly identity: string | undefined;
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Custom policy: return true (all asked actions), false (none) or the granted subset. */
export type Authorize = (
  request: AuthorizeRequest,
) => boolean | readonly string[] | Promise<boolean | readonly string[]>;

/** The token service of a registry in token mode. */
export interface TokenOptions {
  /** The `service` of challenges and the `aud` of tokens; default `'stevedore'`. */
  readonly service?: string;
  /** The `iss` of tokens; default `'stevedore'`. */
  readonly issuer?: string;
  /** Token lifetime in seconds; default 300. */
  readonly expiresIn?: number;
  /** The signing key: an EC P-256 private key or its PEM; generated at start when absent. */
  readonly privateKey?: KeyObject | string;
  /** Absolute URL of the token endpoint, overriding `${baseUrl}/token` (behind a proxy). */
  readonly realm?: string;
}

/**
 * Authentication of a registry. Anonymous requests are first limited by `anonymous`
 * (`'none'`: nothing, `'pull'`: pull only), then, like authenticated ones, by the
 * `authorize` hook when there is one; without a hook an authenticated user may do
 * everything.
 */
export interface AuthOptions {
  /** An htpasswd file path, or a record of user → bcrypt hash. */
  readonly htpasswd?: string | Readonly<Record<string, string>>;
  /** Issue and require Bearer tokens (Docker token protocol) instead of Basic. */
  readonly token?: boolean | TokenOptions;
  /** What anonymous clients may do; default `'none'`. */
  readonly anonymous?: 'none' | 'pull';
  /** The Basic realm; default `'stevedore'`. */
  readonly realm?: string;
}

/** The answer to one request: go ahead as `identity`, or the error to send. */
export type AuthDecision =
  | { readonly ok: true; readonly identity: string | undefined }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly code: 'UNAUTHORIZED' | 'DENIED';
      readonly message: string;
      /** The `WWW-Authenticate` value, on 401. */
      readonly challenge?: string;
      /** The accesses refused: `[{ type, name, action }]`. */
      readonly detail?: unknown;
    };

/** A request to the token endpoint, as the HTTP layer read it. */
export interface TokenRequest {
  readonly method: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Uint8Array | undefined;
}

/** The response of the token endpoint. */
export interface TokenAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Decides requests and answers the token endpoint; made by {@link createAuthenticator}. */
export interface Authenticator {
  /** Whether tokens are issued (the HTTP layer then routes GET/POST `/token` to `token`). */
  readonly issuesTokens: boolean;
  /** Decides one request needing `access`; `baseUrl` is like `http://127.0.0.1:5000` (for the Bearer realm). */
  check(authorization: string | undefined, access: readonly Access[], baseUrl: string): Promise<AuthDecision>;
  /** Answers the token endpoint. */
  token(request: TokenRequest): Promise<TokenAnswer>;
}

const DEFAULT_NAME = 'stevedore';
const DEFAULT_EXPIRES_IN = 300;

/**
 * Makes the authenticator of a registry. `options` undefined means no authentication:
 * everyone is anonymous and only `authorize` (when given) restricts. With options but no
 * `token`, clients log in with HTTP Basic against `htpasswd`; with `token`, they get
 * ES256 tokens from the registry's own `/token` endpoint (GET with Basic credentials, or
 * an OAuth2 password grant by POST) and send them as Bearer.
 *
 * @throws {ServerError} `ERR_SERVER_OPTIONS` for options that cannot work (an unknown
 * `anonymous`, a `privateKey` that is not EC P-256, a relative token `realm`, …), and
 * `ERR_HTPASSWD_INVALID` from {@link readHtpasswd}.
 * @example
 * ```ts
 * const authenticator = await createAuthenticator({ htpasswd: '/etc/registry/htpasswd', token: true });
 * const decision = await authenticator.check(request.headers.authorization, [
 *   { type: 'repository', name: 'team/app', actions: ['pull'] },
 * ], 'http://127.0.0.1:5000');
 * ```
 */
export async function createAuthenticator(
  options: AuthOptions | undefined,
  authorize?: Authorize,
): Promise<Authenticator> {
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new TypeError(`authorize: expected a function, got ${typeof authorize}`);
  }
  if (options === undefined) return new OpenAuthenticator(authorize);
  if (typeof options !== 'object' || options === null) {
    throw new ServerError('ERR_SERVER_OPTIONS', `auth: expected an object, got ${typeof options}`, {
      subject: 'auth',
    });
  }
  const anonymous = options.anonymous ?? 'none';
  if (anonymous !== 'none' && anonymous !== 'pull') {
    throw optionsError('auth.anonymous', `"none" or "pull"`, options.anonymous);
  }
  const basicRealm = checkName('auth.realm', options.realm);
  const htpasswd = options.htpasswd === undefined ? undefined : await readHtpasswd(options.htpasswd);
  const policy = new Policy(authorize, anonymous);
  if (options.token === undefined || options.token === false) {
    return new BasicAuthenticator(htpasswd, policy, basicRealm);
  }
  const tokenOptions: TokenOptions = options.token === true ? {} : options.token;
  if (typeof tokenOptions !== 'object' || tokenOptions === null) {
    throw optionsError('auth.token', 'a boolean or an object', tokenOptions);
  }
  return new TokenAuthenticator(htpasswd, policy, basicRealm, await readTokenSettings(tokenOptions));
}

// --- Policy ---

class Policy {
  readonly #authorize: Authorize | undefined;
  // What anonymous clients are limited to before the hook; `undefined`: no limit.
  readonly #anonymous: 'none' | 'pull' | undefined;

  constructor(authorize: Authorize | undefined, anonymous: 'none' | 'pull' | undefined) {
    this.#authorize = authorize;
    this.#anonymous = anonymous;
  }

  /** Whether anonymous clients may ever do anything, hook aside. */
  get anonymousAllowed(): boolean {
    return this.#anonymous !== 'none';
  }

  /** The actions of `scope` that `identity` is granted. */
  async grant(identity: string | undefined, scope: Scope): Promise<string[]> {
    let actions = [...new Set(scope.actions)];
    if (identity === undefined && this.#anonymous !== undefined) {
      actions = this.#anonymous === 'pull' ? actions.filter((action) => action === 'pull') : [];
    }
    if (actions.length === 0 || this.#authorize === undefined) return actions;
    const answer = await this.#authorize({ identity, type: scope.type, name: scope.name, actions });
    if (answer === true) return actions;
    if (answer === false) return [];
    if (Array.isArray(answer)) return actions.filter((action) => answer.includes(action));
    throw new TypeError(`authorize: expected true, false or an array of actions, got ${typeof answer}`);
  }

  /** What of `scopes` is refused to `identity`, one entry per action. */
  async refused(identity: string | undefined, scopes: readonly Scope[]): Promise<RefusedAccess[]> {
    const refused: RefusedAccess[] = [];
    for (const scope of scopes) {
      const granted = await this.grant(identity, scope);
      for (const action of scope.actions) {
        if (!granted.includes(action)) refused.push({ type: scope.type, name: scope.name, action });
      }
    }
    return refused;
  }
}

interface RefusedAccess {
  readonly type: string;
  readonly name: string;
  readonly action: string;
}

// One scope per type and name, actions merged; scopes with no action dropped.
function mergeAccess(access: readonly Access[]): Scope[] {
  return parseScopes(mergeScopes(access).join(' ')).filter((scope) => scope.actions.length > 0);
}

const AUTHENTICATION_REQUIRED = 'authentication required';
const BAD_CREDENTIALS = 'invalid username or password';
const ACCESS_DENIED = 'requested access to the resource is denied';

function unauthorized(message: string, challenge: string, refused?: readonly RefusedAccess[]): AuthDecision {
  return {
    ok: false,
    status: 401,
    code: 'UNAUTHORIZED',
    message,
    challenge,
    ...(refused !== undefined && refused.length > 0 ? { detail: refused } : {}),
  };
}

function denied(refused: readonly RefusedAccess[]): AuthDecision {
  return { ok: false, status: 403, code: 'DENIED', message: ACCESS_DENIED, detail: refused };
}

// --- No authentication ---

const OPEN: AuthDecision = { ok: true, identity: undefined };

class OpenAuthenticator implements Authenticator {
  readonly issuesTokens = false;
  readonly #policy: Policy | undefined;

  constructor(authorize: Authorize | undefined) {
    this.#policy = authorize === undefined ? undefined : new Policy(authorize, undefined);
  }

  async check(_authorization: string | undefined, access: readonly Access[]): Promise<AuthDecision> {
    if (this.#policy === undefined) return OPEN; // nothing to ask: every request is allowed
    const refused = await this.#policy.refused(undefined, mergeAccess(access));
    return refused.length === 0 ? { ok: true, identity: undefined } : denied(refused);
  }

  async token(): Promise<TokenAnswer> {
    return noTokens();
  }
}

// --- HTTP Basic ---

class BasicAuthenticator implements Authenticator {
  readonly issuesTokens = false;
  readonly #htpasswd: Htpasswd | undefined;
  readonly #policy: Policy;
  readonly #challenge: string;

  constructor(htpasswd: Htpasswd | undefined, policy: Policy, realm: string) {
    this.#htpasswd = htpasswd;
    this.#policy = policy;
    this.#challenge = `Basic realm=${quote(realm)}`;
  }

  async check(authorization: string | undefined, access: readonly Access[]): Promise<AuthDecision> {
    let identity: string | undefined;
    if (authorization !== undefined) {
      identity = await login(this.#htpasswd, authorization);
      if (identity === undefined) return unauthorized(BAD_CREDENTIALS, this.#challenge);
    }
    const scopes = mergeAccess(access);
    // Clients probe `GET /v2/` (no access) to learn whether and how to log in.
    if (identity === undefined && scopes.length === 0 && !this.#policy.anonymousAllowed) {
      return unauthorized(AUTHENTICATION_REQUIRED, this.#challenge);
    }
    const refused = await this.#policy.refused(identity, scopes);
    if (refused.length === 0) return { ok: true, identity };
    // Anonymous: logging in may help. Authenticated: it would not.
    return identity === undefined
      ? unauthorized(AUTHENTICATION_REQUIRED, this.#challenge, refused)
      : denied(refused);
  }

  async token(): Promise<TokenAnswer> {
    return noTokens();
  }
}

// --- Docker token protocol ---

interface TokenSettings {
  readonly service: string;
  readonly issuer: string;
  readonly expiresIn: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly realm: string | undefined;
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function readTokenSettings(options: TokenOptions): Promise<TokenSettings> {
  const service = checkName('auth.token.service', options.service);
  const issuer = checkName('auth.token.issuer', options.issuer);
  const expiresIn = options.expiresIn ?? DEFAULT_EXPIRES_IN;
  if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    throw optionsError('auth.token.expiresIn', 'a positive whole number of seconds', expiresIn);
  }
  const realm = options.realm;
  if (realm !== undefined && (typeof realm !== 'string' || !URL.canParse(realm))) {
    throw optionsError('auth.token.realm', 'an absolute URL', realm);
  }
  let privateKey: KeyObject;
  if (options.privateKey === undefined) {
    privateKey = (await generateKeyPairAsync('ec', { namedCurve: 'P-256' })).privateKey;
  } else if (typeof options.privateKey === 'string') {
    try {
      privateKey = createPrivateKey(options.privateKey);
    } catch (error) {
      // Never show the key itself.
      throw new ServerError('ERR_SERVER_OPTIONS', 'auth.token.privateKey: cannot read the PEM private key', {
        subject: 'auth.token.privateKey',
        expected: 'an EC P-256 private key in PEM',
        cause: error,
      });
    }
  } else {
    privateKey = options.privateKey;
  }
  if (
    typeof privateKey !== 'object' ||
    privateKey === null ||
    privateKey.type !== 'private' ||
    privateKey.asymmetricKeyType !== 'ec' ||
    privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new ServerError(
      'ERR_SERVER_OPTIONS',
      'auth.token.privateKey: expected an EC P-256 private key (ES256)',
      {
        subject: 'auth.token.privateKey',
        expected: 'an EC P-256 private key',
      },
    );
  }
  const publicKey = createPublicKey(privateKey);
  return {
    service,
    issuer,
    expiresIn,
    privateKey,
    publicKey,
    keyId: computeJwtKeyId(publicKey),
    realm,
  };
}

interface GrantedAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

class TokenAuthenticator implements Authenticator {
  readonly issuesTokens = true;
  readonly #htpasswd: Htpasswd | undefined;
  readonly #policy: Policy;
  readonly #basicChallenge: string;
  readonly #settings: TokenSettings;

  constructor(htpasswd: Htpasswd | undefined, policy: Policy, basicRealm: string, settings: TokenSettings) {
    this.#htpasswd = htpasswd;
    this.#policy = policy;
    this.#basicChallenge = `Basic realm=${quote(basicRealm)}`;
    this.#settings = settings;
  }

  async check(
    authorization: string | undefined,
    access: readonly Access[],
    baseUrl: string,
  ): Promise<AuthDecision> {
    const scopes = mergeAccess(access);
    const challenge = (error?: string) => this.#challenge(baseUrl, scopes, error);
    const bearer = authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
    // No token, or Basic credentials sent to the registry itself: go get a token.
    if (bearer === undefined) return unauthorized(AUTHENTICATION_REQUIRED, challenge());
    const verification = verifyJwt(bearer, this.#settings.publicKey, {
      audience: this.#settings.service,
      issuer: this.#settings.issuer,
    });
    if (!verification.ok) return unauthorized(verification.reason, challenge('invalid_token'));
    const granted = readAccessClaim(verification.claims.access);
    const refused: RefusedAccess[] = [];
    for (const scope of scopes) {
      for (const action of scope.actions) {
        const covered = granted.some(
          (entry) => entry.type === scope.type && entry.name === scope.name && entry.actions.includes(action),
        );
        if (!covered) refused.push({ type: scope.type, name: scope.name, action });
      }
    }
    // distribution answers 401 insufficient_scope (not 403): a new token may have more.
    if (refused.length > 0) return unauthorized(ACCESS_DENIED, challenge('insufficient_scope'), refused);
    const subject = verification.claims.sub;
    return { ok: true, identity: typeof subject === 'string' && subject !== '' ? subject : undefined };
  }

  async token(request: TokenRequest): Promise<TokenAnswer> {
    const method = request.method.toUpperCase();
    if (method === 'GET') return this.#tokenByGet(request);
    if (method === 'POST') return this.#tokenByPost(request);
    return jsonAnswer(
      405,
      { errors: [{ code: 'UNSUPPORTED', message: `method ${method} not allowed, use GET or POST` }] },
      { allow: 'GET, POST' },
    );
  }

  // Docker's token request: GET /token?service=…&scope=…&account=…, Basic credentials.
  async #tokenByGet(request: TokenRequest): Promise<TokenAnswer> {
    const service = request.query.get('service');
    if (service !== null && service !== this.#settings.service) {
      return jsonAnswer(400, { errors: [{ code: 'UNSUPPORTED', message: this.#unknownService(service) }] });
    }
    let identity: string | undefined;
    if (request.authorization !== undefined) {
      identity = await login(this.#htpasswd, request.authorization);
      if (identity === undefined) {
        return jsonAnswer(
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: BAD_CREDENTIALS }] },
          { 'www-authenticate': this.#basicChallenge },
        );
      }
    }
    const { token, expiresIn, issuedAt } = await this.#issue(identity, request.query.getAll('scope'));
    return jsonAnswer(200, { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
  }

  // OAuth2 (RFC 6749, section 4.3): the password grant containerd sends by POST.
  async #tokenByPost(request: TokenRequest): Promise<TokenAnswer> {
    const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') {
      return oauthError(400, 'invalid_request', 'expected an application/x-www-form-urlencoded body');
    }
    const form = new URLSearchParams(new TextDecoder().decode(request.body ?? new Uint8Array()));
    const service = form.get('service');
    if (service !== null && service !== this.#settings.service) {
      return oauthError(400, 'invalid_request', this.#unknownService(service));
    }
    const grantType = form.get('grant_type');
    if (grantType === null) return oauthError(400, 'invalid_request', 'grant_type is missing');
    if (grantType !== 'password') {
      return oauthError(
        400,
        'unsupported_grant_type',
        `grant_type ${JSON.stringify(grantType)} is not supported`,
      );
    }
    const username = form.get('username');
    const password = form.get('password');
    if (username === null || password === null) {
      return oauthError(400, 'invalid_request', 'the password grant needs username and password');
    }
    // RFC 6749, section 5.2: wrong resource owner credentials are an invalid_grant.
    if (this.#htpasswd === undefined || !(await this.#htpasswd.verify(username, password))) {
      return oauthError(400, 'invalid_grant', BAD_CREDENTIALS);
    }
    const issued = await this.#issue(username, form.getAll('scope'));
    return jsonAnswer(200, {
      access_token: issued.token,
      token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
      scope: mergeScopes(issued.access.filter((entry) => entry.actions.length > 0)).join(' '),
    });
  }

  async #issue(
    identity: string | undefined,
    scopeParameters: readonly string[],
  ): Promise<{ token: string; expiresIn: number; issuedAt: string; access: GrantedAccess[] }> {
    // Several `scope` parameters, each possibly several space-separated scopes.
    const scopes = parseScopes(mergeScopes(scopeParameters.flatMap((text) => parseScopes(text))).join(' '));
    const access: GrantedAccess[] = [];
    for (const scope of scopes) {
      // Refused scopes stay in the token with no actions, as Docker Hub does.
      access.push({ type: scope.type, name: scope.name, actions: await this.#policy.grant(identity, scope) });
    }
    const { service, issuer, expiresIn, privateKey, keyId } = this.#settings;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: identity ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      access,
    };
    const token = signJwt(claims, privateKey, { kid: keyId });
    return { token, expiresIn, issuedAt: new Date(now * 1000).toISOString().replace('.000Z', 'Z'), access };
  }

  #challenge(baseUrl: string, scopes: readonly Scope[], error: string | undefined): string {
    const realm = this.#settings.realm ?? `${baseUrl.replace(/\/+$/, '')}/token`;
    let challenge = `Bearer realm=${quote(realm)},service=${quote(this.#settings.service)}`;
    if (scopes.length > 0) challenge += `,scope=${quote(mergeScopes(scopes).join(' '))}`;
    if (error !== undefined) challenge += `,error=${quote(error)}`;
    return challenge;
  }

  #unknownService(service: string): string {
    return `unknown service ${JSON.stringify(service.slice(0, 100))}, expected ${JSON.stringify(this.#settings.service)}`;
  }
}

// The `access` claim of a token, ignoring entries of the wrong shape.
function readAccessClaim(claim: unknown): GrantedAccess[] {
  if (!Array.isArray(claim)) return [];
  return claim.filter(
    (entry): entry is GrantedAccess =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.type === 'string' &&
      typeof entry.name === 'string' &&
      Array.isArray(entry.actions) &&
      entry.actions.every((action: unknown) => typeof action === 'string'),
  );
}

// --- Helpers ---

// The user of valid `Basic` credentials, or `undefined` (never says why: no oracle).
async function login(htpasswd: Htpasswd | undefined, authorization: string): Promise<string | undefined> {
  const encoded = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization)?.[1];
  if (encoded === undefined || htpasswd === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  // RFC 7617, section 2: the user-id cannot contain a colon; the password may.
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const user = decoded.slice(0, colon);
  return (await htpasswd.verify(user, decoded.slice(colon + 1))) ? user : undefined;
}

// An RFC 9110 quoted-string.
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function jsonAnswer(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): TokenAnswer {
  return {
    status,
    // RFC 6749, section 5.1: token responses must not be cached.
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

function oauthError(status: number, error: string, description: string): TokenAnswer {
  return jsonAnswer(status, { error, error_description: description });
}

function noTokens(): TokenAnswer {
  return jsonAnswer(404, {
    errors: [{ code: 'UNSUPPORTED', message: 'this registry does not issue tokens' }],
  });
}

function checkName(subject: string, value: string | undefined): string {
  if (value === undefined) return DEFAULT_NAME;
  if (typeof value !== 'string' || value === '' || hasControlCharacter(value)) {
    throw optionsError(subject, 'a non-empty string without control characters', value);
  }
  return value;
}

// A line break in a name would split the WWW-Authenticate header (quotes are escaped).
function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function optionsError(subject: string, expected: string, actual: unknown): ServerError {
  const shown = typeof actual === 'string' ? JSON.stringify(actual.slice(0, 100)) : String(actual);
  return new ServerError('ERR_SERVER_OPTIONS', `${subject}: expected ${expected}, got ${shown}`, {
    subject,
    expected,
    actual: shown,
  });
}
