// A Docker token service for interop tests: signs ES256 JWTs with a throwaway key whose
// self-signed certificate the registry trusts (its `rootcertbundle`), granting every
// scope asked for to the users it knows (or to anyone, anonymously, for pulls).
import { randomUUID, sign, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from './certificate.ts';

/** A running token service. */
export interface TokenIssuer {
  /** Its `/token` URL, the registry's realm. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The file holding the PEM certificate the registry must trust. */
  readonly certificate: string;
  /** Every `scope` asked for, in order. */
  readonly requests: string[][];
  stop(): Promise<void>;
}

const base64url = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64url');

/** Starts a token service on a free loopback port; `users` may log in, others get pulls only. */
export async function startTokenIssuer(
  dir: string,
  users: Readonly<Record<string, string>>,
): Promise<TokenIssuer> {
  const {
    key: privateKey,
    certificate: pem,
    certificateFile,
  } = await selfSignedCertificate(dir, 'token', 'stevedore-test-token');
  const der = new X509Certificate(pem).raw;
  const service = 'stevedore-test-registry';
  const issuer = 'stevedore-test-issuer';
  const requests: string[][] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    requests.push(scopes);
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const [user, password] = basic === undefined ? [] : Buffer.from(basic, 'base64').toString().split(':');
    if (basic !== undefined && (user === undefined || users[user] !== password)) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end('{"details":"bad credentials"}');
      return;
    }
    const access = scopes.flatMap((scope) => {
      const [type = '', ...rest] = scope.split(':');
      const actions = (rest.pop() ?? '').split(',');
      const allowed = user === undefined ? actions.filter((action) => action === 'pull') : actions;
      return [{ type, name: rest.join(':'), actions: allowed }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] }));
    const claims = base64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ token: `${header}.${claims}.${base64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certificate: certificateFile,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
