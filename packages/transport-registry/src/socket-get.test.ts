import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { socketGet } from './socket-get.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<URL> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/app/blobs/x`);
}

const run = promisify(execFile);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('socketGet', () => {
  it('reads a Content-Length body through a few reused buffers, each chunk hashed before the next', async () => {
    const big = randomBytes(5 * 1024 * 1024 + 123);
    const seen: Record<string, string | string[] | undefined>[] = [];
    const url = await serve((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, { 'content-length': big.length, 'x-many': 'a' });
      response.end(big);
    });
    const answer = await socketGet(url, { headers: { authorization: 'Bearer T' }, buffers: 4 });
    expect(answer?.status).toBe(200);
    expect(answer?.headers['content-length']).toBe(String(big.length));
    const hash = createHash('sha256');
    const memory = new Set<ArrayBufferLike>();
    let bytes = 0;
    for await (const chunk of answer?.body ?? []) {
      hash.update(chunk);
      memory.add(chunk.buffer);
      bytes += chunk.byteLength;
    }
    expect(bytes).toBe(big.length);
    expect(hash.digest('hex')).toBe(sha256(big));
    // The head's leftover is a copy; every other chunk is one of the four buffers.
    expect(memory.size).toBeLessThanOrEqual(5);
    expect(seen[0]).toMatchObject({ authorization: 'Bearer T', connection: 'close', host: url.host });
  });

  it('waits for the reader: a slow reader gets every byte, in order', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': big.length });
      response.end(big);
    });
    const answer = await socketGet(url, { headers: {}, buffers: 2, bufferSize: 16 * 1024 });
    let turns = 0;
    let offset = 0;
    for await (const chunk of answer?.body ?? []) {
      if (turns++ % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      // Not read into while the reader still holds it.
      expect(Buffer.compare(chunk, big.subarray(offset, offset + chunk.byteLength))).toBe(0);
      offset += chunk.byteLength;
    }
    expect(offset).toBe(big.length);
  });

  it('gives error bodies as copies, with repeated headers as lists', async () => {
    const error = '{"errors":[{"code":"UNAUTHORIZED"}]}';
    const url = await serve((_request, response) => {
      response.writeHead(401, [
        ['www-authenticate', 'Basic realm="a"'],
        ['www-authenticate', 'Bearer realm="b"'],
        ['content-type', 'application/json'],
        ['content-length', String(error.length)],
      ]);
      response.end(error);
    });
    const answer = await socketGet(url, { headers: {} });
    expect(answer?.status).toBe(401);
    expect(answer?.headers['www-authenticate']).toEqual(['Basic realm="a"', 'Bearer realm="b"']);
    const parts: Uint8Array[] = [];
    for await (const chunk of answer?.body ?? []) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe(error);
  });

  it('skips interim answers and reads a body that ends with the connection', async () => {
    const url = await serve((request) => {
      request.socket.end(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the end',
      );
    });
    const answer = await socketGet(url, { headers: {} });
    expect(answer?.status).toBe(200);
    let text = '';
    for await (const chunk of answer?.body ?? []) text += Buffer.from(chunk).toString();
    expect(text).toBe('to the end');
  });

  it('leaves a chunked body to another client', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'transfer-encoding': 'chunked' });
      response.end('chunked');
    });
    expect(await socketGet(url, { headers: {} })).toBeUndefined();
  });

  it('throws when the connection drops before the body is whole, after the bytes that came', async () => {
    const url = await serve((request, response) => {
      response.writeHead(200, { 'content-length': 1000 });
      response.write(Buffer.alloc(400, 1), () => setTimeout(() => request.socket.destroy(), 20));
    });
    const answer = await socketGet(url, { headers: {} });
    let bytes = 0;
    await expect(async () => {
      for await (const chunk of answer?.body ?? []) bytes += chunk.byteLength;
    }).rejects.toThrow(/600 bytes of the body still to come/);
    expect(bytes).toBe(400);
  });

  it('stops on abort, before and after the head', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': 10 });
      response.write('12345');
    });
    const before = new AbortController();
    before.abort(new Error('stopped early'));
    await expect(socketGet(url, { headers: {}, signal: before.signal })).rejects.toThrow('stopped early');
    const after = new AbortController();
    const answer = await socketGet(url, { headers: {}, signal: after.signal });
    await expect(async () => {
      for await (const _chunk of answer?.body ?? []) after.abort(new Error('stopped'));
    }).rejects.toThrow('stopped');
  });

  it('does not keep the process alive with a body left unread', async () => {
    const url = await serve((_request, response) => {
      const big = Buffer.alloc(8 * 1024 * 1024, 1);
      response.writeHead(200, { 'content-length': big.length });
      response.end(big);
    });
    // A process that asks and never reads: it ends once the buffers are full and paused.
    const script = `
      const { socketGet } = await import(${JSON.stringify(new URL('./socket-get.ts', import.meta.url).href)});
      const answer = await socketGet(new URL(${JSON.stringify(url.href)}), { headers: {} });
      console.log(answer.status);
    `;
    const started = Date.now();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('200');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('fails clearly on what is not HTTP, and refuses headers that would split the request', async () => {
    const url = await serve((request) => request.socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(socketGet(url, { headers: {} })).rejects.toThrow(/not an HTTP\/1.1 answer: SSH-2.0/);
    expect(() => socketGet(url, { headers: { authorization: 'x\r\nhost: evil' } })).toThrow(/invalid header/);
  });
});
