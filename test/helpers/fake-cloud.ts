import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

/** A file as a manifest names it, and the bytes this cloud answers for it (which may lie). */
export interface FakeFile {
  bytes: string;
  /** What the blob route sends instead of `bytes`; null answers 404. */
  served?: string | null;
}

/**
 * A cloud that says what a test wants: a real HTTP server on loopback speaking the edge API, whose manifest and
 * blobs can be wrong in any way. `publish` sets what it serves (a manifest value, or any JSON), and answers the
 * edges waiting on a long-poll.
 */
export async function startFakeCloud() {
  let body = '{}';
  let etag = '"0"';
  const blobs = new Map<string, string | null>();
  const waiting = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/edge/v1/manifest') {
      const answer = () => {
        if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
        else res.writeHead(200, { etag, 'content-type': 'application/json' }).end(body);
      };
      if (req.headers['if-none-match'] !== etag || !url.searchParams.get('wait')) return answer();
      const timer = setTimeout(
        () => (waiting.delete(wake), answer()),
        Number(url.searchParams.get('wait')) * 1000,
      );
      const wake = () => (clearTimeout(timer), answer());
      waiting.add(wake);
      return;
    }
    const digest = /^\/edge\/v1\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const served = digest === undefined ? null : blobs.get(digest);
    if (served === undefined || served === null) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const publish = (manifest: unknown) => {
    body = JSON.stringify(manifest);
    etag = `"${sha(Buffer.from(body))}"`;
    for (const wake of [...waiting]) wake();
    waiting.clear();
  };

  /** The manifest entry of a version: each file by digest and size, its blob registered as it will be served. */
  const files = (named: Record<string, FakeFile>) =>
    Object.fromEntries(
      Object.entries(named).map(([name, file]) => {
        const data = Buffer.from(file.bytes);
        const digest = sha(data);
        blobs.set(digest, file.served === undefined ? file.bytes : file.served);
        return [name, { sha256: digest, size: data.length }];
      }),
    );

  const close = () => {
    for (const wake of [...waiting]) wake();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url, publish, files, close };
}
