// A loopback proxy in front of a registry that misbehaves the way networks and proxies
// do: it drops a connection halfway through a blob, answers 429 with Retry-After and 503,
// and refuses bodies over a size limit with 413 (as nginx's client_max_body_size does).
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which faults the proxy injects, and what it did. */
export interface FaultProxy {
  readonly host: string;
  /** One line per fault injected. */
  readonly faults: string[];
  /** Every request seen, as `METHOD path`. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/**
 * Starts a fault proxy for `target` (`127.0.0.1:<port>`) on a free loopback port; with
 * `inject: false`, a proxy that only records the requests.
 */
export async function startFaultProxy(
  target: string,
  limits: { readonly maxBody: number; readonly inject?: boolean },
): Promise<FaultProxy> {
  const faults: string[] = [];
  const requests: string[] = [];
  const seen = new Set<string>();
  const once = (key: string) => {
    if (limits.inject === false || seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const [targetHost = '', targetPort = ''] = target.split(':');
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(`${request.method} ${path}`);
    const length = Number(request.headers['content-length'] ?? 0);
    const isBlobGet = request.method === 'GET' && /\/blobs\/sha256:/.test(path);
    if (length > limits.maxBody) {
      faults.push(`413 ${request.method} ${length}`);
      // Answered at once and the connection closed, the body unread: the client sees the
      // 413 or, as often, a connection cut while it sends; it must take either as a refusal.
      request.resume();
      response.writeHead(413, { connection: 'close' });
      return response.end('<html>413 Request Entity Too Large</html>');
    }
    if (request.method === 'GET' && /\/manifests\//.test(path) && once('429')) {
      faults.push(`429 ${path}`);
      response.writeHead(429, { 'retry-after': '1' });
      return response.end();
    }
    if (request.method === 'HEAD' && once('503')) {
      faults.push(`503 ${path}`);
      response.writeHead(503);
      return response.end();
    }
    const upstream = forward(
      { host: targetHost, port: Number(targetPort), method: request.method, path, headers: request.headers },
      (answer: IncomingMessage) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        const cut = isBlobGet && answer.statusCode === 200 && once(`cut ${path}`);
        if (!cut) return void answer.pipe(response);
        // Half the body, then the connection drops.
        const total = Number(answer.headers['content-length'] ?? 0);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= total / 2) return;
          response.write(chunk.subarray(0, Math.max(0, Math.ceil(total / 2) - sent)));
          sent += chunk.length;
          if (sent >= total / 2) {
            faults.push(`cut ${path} at ${Math.ceil(total / 2)}`);
            answer.destroy();
            setTimeout(() => request.socket.destroy(), 10);
          }
        });
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
