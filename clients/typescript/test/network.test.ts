import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { ConnectionError, LoopaiClient, ServerError, TimeoutError, UnavailableError } from '../src';
import { parseRetryAfter } from '../src/transport';
import { freePort, rejectsWith, startServer, tmpDataDir, writeApp, type LoopaiServer } from './helpers';

/** Listens on loopback; `answer` may leave a request unanswered. Counts the connections and requests it saw. */
async function peer(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen = { connections: 0, requests: [] as string[] };
  const server = http.createServer((req, res) => {
    seen.requests.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

describe('timeouts and connection failures', () => {
  it('a server that never answers times out, and the request is not sent again', async () => {
    const silent = await peer(() => {}); // accepts, reads, never answers
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: silent.url, timeoutMs: 300, maxRetries: 3 });
      const started = Date.now();
      const error = await rejectsWith(client.execute({ text: 'hi' }), TimeoutError, undefined, 'timeout');
      const elapsed = Date.now() - started;
      assert.match(error.message, /within 300 ms/);
      assert.ok(elapsed >= 290, `waited ${elapsed} ms`);
      assert.ok(
        elapsed < 1500,
        `a timed-out request may have been carried out, so it is not retried (${elapsed} ms)`,
      );
      assert.deepEqual(silent.seen.requests, ['POST /loop-apps/spam-test/execute']);

      // A per-call timeout wins over the client's.
      const quick = Date.now();
      await rejectsWith(client.getApp({ timeoutMs: 50, maxRetries: 0 }), TimeoutError, undefined, 'timeout');
      assert.ok(Date.now() - quick < 280, 'the call used its own 50 ms timeout');
    } finally {
      await silent.close();
    }
  });

  it('an aborted call rejects with the signal’s reason at once', async () => {
    const silent = await peer(() => {});
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: silent.url });
      const controller = new AbortController();
      const reason = new Error('the user left');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(
        client.execute({ text: 'hi' }, { signal: controller.signal }),
        (err) => err === reason,
      );
    } finally {
      await silent.close();
    }
  });

  it('a closed port is a ConnectionError with the cause', async () => {
    const client = new LoopaiClient('spam-test', {
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      maxRetries: 0,
    });
    const error = await rejectsWith(
      client.execute({ text: 'hi' }),
      ConnectionError,
      undefined,
      'connection_error',
    );
    assert.equal(error.details?.cause_code, 'ECONNREFUSED');
    assert.match(error.message, /ECONNREFUSED/);
  });

  describe('a server that comes up while the client backs off', () => {
    let server: LoopaiServer | undefined;
    let dataDir: string;
    after(async () => {
      await server?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('is reached by a retried execute (a refused connection was never sent)', async () => {
      dataDir = tmpDataDir();
      writeApp(dataDir, 'spam-test');
      const port = await freePort();
      const client = new LoopaiClient('spam-test', { baseUrl: `http://127.0.0.1:${port}`, maxRetries: 8 });
      const started = Date.now();
      const starting = new Promise((resolve) => setTimeout(resolve, 500)).then(async () => {
        server = await startServer(dataDir, {}, port);
      });
      const result = await client.execute({ text: 'free prize' });
      await starting;
      assert.equal(result.output, 'spam');
      assert.ok(Date.now() - started >= 500);
    });
  });
});

describe('retries by status and method (a bare HTTP peer, for answers the Loopai server does not give on demand)', () => {
  it('a 500 to a POST is not retried, a 500 to a GET is', async () => {
    const failing = await peer((_req, res) =>
      sendJson(
        res,
        500,
        { error: { code: 'internal_error', message: 'internal error' } },
        { 'x-request-id': 'req-42' },
      ),
    );
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: failing.url, maxRetries: 2 });
      const error = await rejectsWith(client.execute({ text: 'hi' }), ServerError, 500, 'internal_error');
      assert.equal(error.requestId, 'req-42');
      assert.equal(failing.seen.requests.length, 1, 'a POST that failed with 500 may have been carried out');

      failing.seen.requests.length = 0;
      await rejectsWith(client.getApp(), ServerError, 500, 'internal_error');
      assert.equal(failing.seen.requests.length, 3, 'a GET is tried once and retried twice');
    } finally {
      await failing.close();
    }
  });

  it('a 503 with Retry-After as an HTTP date is retried no earlier than that date', async () => {
    let calls = 0;
    const busy = await peer((_req, res) => {
      calls++;
      if (calls === 1) {
        // HTTP dates have whole seconds: two seconds ahead is at least one second from now.
        const at = new Date(Date.now() + 2000).toUTCString();
        sendJson(res, 503, { error: { code: 'not_ready', message: 'warming up' } }, { 'retry-after': at });
      } else {
        sendJson(res, 200, { loop_app_id: 'spam-test', status: 'active' });
      }
    });
    try {
      const started = Date.now();
      const app = await new LoopaiClient('spam-test', { baseUrl: busy.url }).getApp();
      assert.equal(app.status, 'active');
      assert.ok(Date.now() - started >= 1000, `retried after ${Date.now() - started} ms`);
      assert.equal(calls, 2);

      calls = 0;
      const noRetry = new LoopaiClient('spam-test', { baseUrl: busy.url, maxRetries: 0 });
      const error = await rejectsWith(noRetry.getApp(), UnavailableError, 503, 'not_ready');
      assert.ok(error.retryAfterMs! > 0 && error.retryAfterMs! <= 2000, String(error.retryAfterMs));
    } finally {
      await busy.close();
    }
  });

  it('an error that is not in the Loopai format still says what happened', async () => {
    const proxy = await peer((_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>'),
    );
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: proxy.url, maxRetries: 0 });
      const error = await rejectsWith(client.execute({ text: 'hi' }), ServerError, 502, 'http_502');
      assert.match(error.message, /answered 502: <h1>Bad Gateway/);
    } finally {
      await proxy.close();
    }
  });
});

describe('several base URLs (a cloud and its edges)', () => {
  it('a call fails over to the next server when one refuses connections or answers 503, and stays there', async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-test');
    const live = await startServer(dataDir);
    const busy = await peer((_req, res) =>
      sendJson(res, 503, { error: { code: 'not_synced', message: 'not synced yet' } }),
    );
    const dead = `http://127.0.0.1:${await freePort()}`;
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: [dead, busy.url, live.url], maxRetries: 0 });
      const started = Date.now();
      const answer = await client.execute({ text: 'win a prize' });
      assert.equal(answer.output, 'spam');
      assert.ok(Date.now() - started < 2000, 'failing over waits for no backoff');
      assert.equal(client.baseUrl, live.url);
      assert.equal(busy.seen.requests.length, 1);
      // the next call goes straight to the server that answered, also from a client for another app
      await client.forApp('spam-test').execute({ text: 'hello' });
      await client.execute({ text: 'hello' });
      assert.equal(busy.seen.requests.length, 1);
    } finally {
      await busy.close();
      await live.stop();
    }
  });

  it('a 400 is an answer, not a reason to fail over', async () => {
    const wrong = await peer((_req, res) =>
      sendJson(res, 400, { error: { code: 'invalid_input', message: 'no' } }),
    );
    const other = await peer((_req, res) => sendJson(res, 200, {}));
    try {
      const client = new LoopaiClient('spam-test', { baseUrl: [wrong.url, other.url] });
      await assert.rejects(client.execute({ text: 'x' }));
      assert.deepEqual(other.seen.requests, []);
    } finally {
      await wrong.close();
      await other.close();
    }
  });
});

describe('Retry-After', () => {
  it('is read as delay-seconds or as an HTTP date', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 1.5 ', now), 1500);
    assert.equal(parseRetryAfter('-1', now), 0);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:28:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:27:50 GMT', now), 0, 'a date in the past means now');
    assert.equal(parseRetryAfter('2026-10-21T07:28:10', now), undefined, 'not an HTTP date');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});
