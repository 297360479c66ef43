// Throwaway self-signed certificates (P-256, one day) made with openssl, for the HTTPS
// servers and the token signer of interop tests.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPeer } from './peers.ts';

/** A PEM private key and its self-signed certificate, as text and as the files holding them. */
export interface Certificate {
  readonly key: string;
  readonly certificate: string;
  readonly keyFile: string;
  readonly certificateFile: string;
}

/**
 * Writes `<name>.key` and `<name>.crt` in `dir` for subject `/CN=<commonName>`, with the
 * given `subjectAltName` when there is one.
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  commonName: string,
  subjectAltName?: string,
): Promise<Certificate> {
  const key = join(dir, `${name}.key`);
  const certificate = join(dir, `${name}.crt`);
  const altName = subjectAltName === undefined ? [] : ['-addext', `subjectAltName=${subjectAltName}`];
  await runPeer('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    certificate,
    '-days',
    '1',
    '-subj',
    `/CN=${commonName}`,
    ...altName,
  ]);
  return {
    key: await readFile(key, 'utf8'),
    certificate: await readFile(certificate, 'utf8'),
    keyFile: key,
    certificateFile: certificate,
  };
}
