// A GET whose body is read into a few reused buffers, for blobs: on a connection of its
// own (plain or TLS), with `net`'s `onread` the kernel's bytes land in the same memory
// turn after turn. Through undici every 16–64 KiB socket read is a fresh buffer that
// lives until V8's next full collection: on a 500 MB layer that was 40,000–75,000 page
// faults, most of a pull's time, and 70–85 MiB of RSS (docs/PERFORMANCE.md, "Pull").
// The answer's head is parsed here (HTTP/1.1, RFC 9112); a body framed by chunked
// transfer coding is left to a full HTTP client (`undefined`), as registries and object
// stores send blobs with a `Content-Length`.
import { connect as connectTcp, isIP, type OnReadOpts, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import type { Answer, AnswerBody } from './answer.ts';

/** Options for {@link socketGet}. */
export interface SocketGetOptions {
  /** Request headers besides `host` and `connection`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Certificates trusted for HTTPS (default: Node's roots). */
  readonly ca?: readonly string[];
  readonly signal?: AbortSignal;
  /** How many buffers take turns (default 8). */
  readonly buffers?: number;
  /** Bytes per buffer: the most one socket read gives (default 128 KiB). */
  readonly bufferSize?: number;
  /** Milliseconds without a byte before the connection is given up (default 300 s, as undici's). */
  readonly idleTimeout?: number;
}

/** The largest answer head read. */
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Sends `GET url` on a new connection and resolves with the answer once its head has
 * arrived, or with `undefined` when its body is chunked (then nothing is read from it and
 * the connection is closed: ask again through another client).
 *
 * A 2xx answer's body chunks are views into the reused buffers: each is valid only until
 * the next is asked for (see `OpenBlobOptions.transientChunks`). Other answers' chunks are
 * copies (error bodies are kept and parsed). A body that ends before its `Content-Length`
 * throws, so the caller can resume it with `Range`.
 */
export function socketGet(url: URL, options: SocketGetOptions): Promise<Answer | undefined> {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close'];
  for (const [name, value] of Object.entries(options.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`invalid header ${name}`);
    lines.push(`${name}: ${value}`);
  }
  const request = `${lines.join('\r\n')}\r\n\r\n`;
  const size = options.bufferSize ?? 128 * 1024;
  const ring = Array.from({ length: options.buffers ?? 8 }, () => new Uint8Array(size));
  // Per buffer, the chunks read into it that the consumer has not let go of.
  const held = ring.map(() => 0);
  let reading = 0; // the buffer the next socket read goes into
  let paused = false;
  let head: Buffer | undefined = Buffer.alloc(0); // until the answer's head is parsed
  let reuse = false; // 2xx: body chunks are views into the ring
  let remaining = Number.POSITIVE_INFINITY; // body bytes still to come (Content-Length)
  const queue: { chunk: Uint8Array; slot: number }[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  return new Promise<Answer | undefined>((resolve, reject) => {
    let answered = false;
    const fail = (error: Error) => {
      if (!answered) {
        answered = true;
        reject(error);
      } else if (!ended && failure === undefined) {
        failure = error;
        notify();
      }
    };
    const finish = () => {
      ended = true;
      options.signal?.removeEventListener('abort', abort);
      socket.destroy();
      notify();
    };
    const release = (slot: number) => {
      if (slot < 0) return;
      held[slot] = (held[slot] ?? 1) - 1;
      if (paused && held[reading] === 0) {
        paused = false;
        socket.resume();
      }
    };
    const body: AnswerBody = {
      async *[Symbol.asyncIterator]() {
        let last = -1;
        try {
          for (;;) {
            release(last);
            last = -1;
            const next = queue.shift();
            if (next !== undefined) {
              last = next.slot;
              yield next.chunk;
            } else if (failure !== undefined) {
              throw failure;
            } else if (ended) {
              return;
            } else {
              await new Promise<void>((resume) => {
                wake = resume;
              });
            }
          }
        } finally {
          release(last);
          if (!ended) finish();
        }
      },
      async dump() {
        if (!ended) finish();
      },
      destroy() {
        if (!ended) finish();
      },
    };
    const take = (chunk: Uint8Array, slot: number) => {
      const part = chunk.byteLength > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= part.byteLength;
      if (part.byteLength > 0) {
        if (reuse && slot >= 0) {
          held[slot] = (held[slot] ?? 0) + 1;
          queue.push({ chunk: part, slot });
        } else {
          queue.push({ chunk: part.slice(), slot: -1 });
        }
      }
      if (remaining === 0) finish();
      else notify();
    };
    // The answer's head, once it is all there; false when the connection was given up.
    const parseHead = (bytes: Buffer): boolean => {
      const end = bytes.indexOf(HEAD_END);
      if (end === -1) {
        if (bytes.byteLength > MAX_HEAD) throw new Error(`the answer's head is over ${MAX_HEAD} bytes`);
        head = bytes;
        return true;
      }
      const [statusLine = '', ...fields] = bytes.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
      if (status === undefined) throw new Error(`not an HTTP/1.1 answer: ${statusLine.slice(0, 80)}`);
      const rest = bytes.subarray(end + HEAD_END.byteLength);
      const code = Number(status);
      if (code >= 100 && code < 200) return parseHead(rest); // an interim answer: the real one follows
      const headers: Record<string, string | string[]> = {};
      for (const field of fields) {
        const colon = field.indexOf(':');
        if (colon <= 0) continue;
        const name = field.slice(0, colon).trim().toLowerCase();
        const value = field.slice(colon + 1).trim();
        const before = headers[name];
        headers[name] =
          before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
      }
      head = undefined;
      answered = true;
      if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) {
        finish();
        resolve(undefined);
        return false;
      }
      const length = headers['content-length'];
      if (typeof length === 'string' && /^\d+$/.test(length)) remaining = Number(length);
      else if (length !== undefined) throw new Error(`invalid content-length ${String(length)}`);
      if (code === 204 || code === 304) remaining = 0;
      reuse = code >= 200 && code < 300;
      resolve({ status: code, headers, body });
      take(rest, -1);
      return true;
    };
    const onread = {
      buffer: () => ring[reading] as Uint8Array,
      callback: (read: number): boolean => {
        const slot = reading;
        const chunk = (ring[slot] as Uint8Array).subarray(0, read);
        reading = (slot + 1) % ring.length;
        try {
          if (ended) return false;
          if (head !== undefined) {
            if (!parseHead(Buffer.concat([head, chunk]))) return false;
          } else {
            take(chunk, slot);
          }
        } catch (error) {
          socket.destroy(error as Error);
          return false;
        }
        // The next read waits for its buffer to be let go of. A socket that is not reading
        // does not keep the process alive (libuv), so a body left unread holds nothing up.
        if ((held[reading] ?? 0) > 0) {
          paused = true;
          return false;
        }
        return true;
      },
    };
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const https = url.protocol === 'https:';
    const port = Number(url.port || (https ? 443 : 80));
    // `tls.connect` takes `onread` as `net.connect` does (Node's docs), though @types/node omits it.
    const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = {
      host,
      port,
      onread,
      ALPNProtocols: ['http/1.1'],
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(options.ca === undefined ? {} : { ca: [...options.ca] }),
    };
    const socket: Socket = https ? connectTls(tlsOptions) : connectTcp({ host, port, onread });
    const abort = () => socket.destroy(options.signal?.reason as Error);
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const idle = options.idleTimeout ?? 300_000;
    socket.setTimeout(idle, () => socket.destroy(new Error(`no data from ${url.host} for ${idle / 1000} s`)));
    socket.on('error', fail);
    socket.on('end', () => {
      if (ended) return;
      if (!answered) fail(new Error(`${url.host} closed the connection before answering`));
      else if (remaining === Number.POSITIVE_INFINITY) finish();
      else fail(new Error(`the connection closed with ${remaining} bytes of the body still to come`));
    });
    socket.on('close', () => {
      if (!ended) fail(new Error(`the connection to ${url.host} closed`));
      options.signal?.removeEventListener('abort', abort);
    });
    socket.write(request);
  });
}
