// Users and bcrypt password hashes in Apache's htpasswd format, as the CNCF distribution
// registry reads them (`htpasswd -Bbn user password`): one `user:hash` a line, bcrypt only.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { compare } from 'bcryptjs';
import { ServerError } from './errors.ts';

/** Users and their password hashes, read by {@link readHtpasswd}. */
export interface Htpasswd {
  /** The users, in the order they were read. */
  readonly users: readonly string[];
  /**
   * Whether `password` is the password of `user`. An unknown user costs about the same
   * time as a known one, so timing does not tell whether a user exists.
   */
  verify(user: string, password: string): Promise<boolean>;
}

/** Options of {@link readHtpasswd}. */
export interface ReadHtpasswdOptions {
  readonly signal?: AbortSignal;
}

// bcrypt as `htpasswd -B` ($2y$), Go and OpenBSD ($2a$, $2b$) write it: cost, then 22
// characters of salt and 31 of hash in bcrypt's base64 alphabet.
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
// A well-formed hash of nothing anyone knows, compared against for unknown users.
const DUMMY_SALT_AND_HASH = 'N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';
const DEFAULT_COST = 10;
/** How long a successful verification is remembered. */
const CACHE_MILLISECONDS = 5 * 60 * 1000;
/** How many successful verifications are remembered at most. */
const CACHE_ENTRIES = 1000;

/**
 * Reads users and bcrypt hashes from an htpasswd file (a path: `user:hash` lines, blank
 * lines and `#` comments ignored) or from a record of user → hash. Only bcrypt hashes
 * (`$2y$`, `$2a$`, `$2b$`) are accepted, as distribution does: make them with
 * `htpasswd -Bbn user password`.
 *
 * Successful verifications are remembered for five minutes (bcrypt is slow on purpose,
 * and clients send their credentials with every request).
 *
 * @throws {ServerError} `ERR_HTPASSWD_INVALID` when the file cannot be read, a line is
 * not `user:hash`, a user appears twice, or a hash is not bcrypt. The message names the
 * file, line and user, never the hash.
 * @example
 * ```ts
 * const htpasswd = await readHtpasswd('/etc/registry/htpasswd');
 * if (await htpasswd.verify('alice', password)) grant();
 * ```
 */
export async function readHtpasswd(
  source: string | Readonly<Record<string, string>>,
  options: ReadHtpasswdOptions = {},
): Promise<Htpasswd> {
  if (typeof source === 'string') {
    let text: string;
    try {
      text = await readFile(source, {
        encoding: 'utf8',
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ServerError(
        'ERR_HTPASSWD_INVALID',
        `cannot read the htpasswd file ${JSON.stringify(source)}`,
        {
          subject: source,
          cause: error,
        },
      );
    }
    return new HtpasswdTable(parseLines(text, source));
  }
  if (typeof source !== 'object' || source === null) {
    throw new TypeError(`htpasswd: expected a file path or a record of user to hash, got ${typeof source}`);
  }
  const entries: Entry[] = Object.entries(source).map(([user, hash]) => ({ user, hash, line: undefined }));
  return new HtpasswdTable(checkEntries(entries, 'the htpasswd map'));
}

interface Entry {
  readonly user: string;
  readonly hash: string;
  readonly line: number | undefined;
}

function parseLines(text: string, file: string): Entry[] {
  const entries: Entry[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      // The line may be a bare password or hash: show neither.
      throw new ServerError(
        'ERR_HTPASSWD_INVALID',
        `htpasswd file ${JSON.stringify(file)}, line ${index + 1}: expected "user:hash"`,
        { subject: file, expected: 'user:hash' },
      );
    }
    entries.push({ user: line.slice(0, colon), hash: line.slice(colon + 1).trim(), line: index + 1 });
  }
  return checkEntries(entries, `htpasswd file ${JSON.stringify(file)}`, file);
}

function checkEntries(entries: readonly Entry[], where: string, file?: string): Entry[] {
  const seen = new Set<string>();
  const subject = file ?? 'htpasswd';
  for (const { user, hash, line } of entries) {
    const place =
      line === undefined
        ? `${where}, user ${JSON.stringify(user)}`
        : `${where}, line ${line}, user ${JSON.stringify(user)}`;
    if (user === '' || user.includes(':')) {
      // RFC 7617: a Basic user-id cannot contain a colon.
      throw new ServerError(
        'ERR_HTPASSWD_INVALID',
        `${place}: a user name must be non-empty and without ":"`,
        {
          subject,
        },
      );
    }
    if (seen.has(user)) {
      throw new ServerError('ERR_HTPASSWD_INVALID', `${place}: the user appears twice`, { subject });
    }
    seen.add(user);
    if (typeof hash !== 'string' || !BCRYPT.test(hash) || !validCost(hash)) {
      const scheme = hashScheme(hash);
      throw new ServerError(
        'ERR_HTPASSWD_INVALID',
        `${place}: the hash is ${scheme}, expected bcrypt ($2y$, $2a$ or $2b$; make it with "htpasswd -B")`,
        { subject, expected: 'bcrypt', actual: scheme },
      );
    }
  }
  return [...entries];
}

function validCost(hash: string): boolean {
  const cost = Number(hash.slice(4, 6));
  return cost >= 4 && cost <= 31;
}

// The name of a hash's scheme, for error messages that must not show the hash itself.
function hashScheme(hash: unknown): string {
  if (typeof hash !== 'string') return `not a string (${typeof hash})`;
  if (hash === '') return 'empty';
  if (hash.startsWith('$apr1$')) return 'APR1-MD5';
  if (hash.startsWith('{SHA}')) return 'SHA-1';
  if (hash.startsWith('$1$')) return 'MD5-crypt';
  if (hash.startsWith('$5$')) return 'SHA-256-crypt';
  if (hash.startsWith('$6$')) return 'SHA-512-crypt';
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';
  return 'crypt or plain text';
}

class HtpasswdTable implements Htpasswd {
  readonly users: readonly string[];
  readonly #hashes: ReadonlyMap<string, string>;
  readonly #dummyHash: string;
  // Keyed by HMAC-SHA-256 of user NUL password under a random per-instance secret: the
  // cache holds no password, and its keys mean nothing outside this process.
  readonly #secret = randomBytes(32);
  readonly #verified = new Map<string, number>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(entries: readonly Entry[]) {
    this.users = entries.map((entry) => entry.user);
    this.#hashes = new Map(entries.map((entry) => [entry.user, entry.hash]));
    const cost = Math.max(0, ...entries.map((entry) => Number(entry.hash.slice(4, 6))));
    this.#dummyHash = `$2b$${String(cost === 0 ? DEFAULT_COST : cost).padStart(2, '0')}$${DUMMY_SALT_AND_HASH}`;
  }

  async verify(user: string, password: string): Promise<boolean> {
    if (typeof user !== 'string' || typeof password !== 'string') return false;
    const key = createHmac('sha256', this.#secret).update(`${user}\0${password}`).digest('base64');
    const now = Date.now();
    const until = this.#verified.get(key);
    if (until !== undefined) {
      if (until > now) return true;
      this.#verified.delete(key);
    }
    // Clients push layers in parallel with the same credentials: one bcrypt for all.
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const verification = this.#compare(user, password).then((valid) => {
      if (valid) this.#remember(key, Date.now() + CACHE_MILLISECONDS);
      return valid;
    });
    this.#pending.set(key, verification);
    try {
      return await verification;
    } finally {
      this.#pending.delete(key);
    }
  }

  async #compare(user: string, password: string): Promise<boolean> {
    const hash = this.#hashes.get(user);
    if (hash === undefined) {
      await compare(password, this.#dummyHash);
      return false;
    }
    return compare(password, hash);
  }

  #remember(key: string, until: number): void {
    this.#verified.delete(key);
    if (this.#verified.size >= CACHE_ENTRIES) {
      const now = Date.now();
      for (const [oldKey, oldUntil] of this.#verified) {
        if (oldUntil <= now) this.#verified.delete(oldKey);
      }
      // Still full: forget the oldest (a Map iterates in insertion order).
      while (this.#verified.size >= CACHE_ENTRIES) {
        const oldest = this.#verified.keys().next().value;
        if (oldest === undefined) break;
        this.#verified.delete(oldest);
      }
    }
    this.#verified.set(key, until);
  }
}
