import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError, LoopaiClient, PermissionError, RateLimitError } from '../src';
import { rejectsWith, startServer, tmpDataDir, writeApp, type LoopaiServer } from './helpers';

const ADMIN_KEY = 'test-admin-key';
const EXECUTE_KEY = 'test-execute-key';
/** A token bucket of 60 a minute refills one call a second, so the server's Retry-After is 1 s. */
const PER_MINUTE = 60;

describe('API keys and rate limits', () => {
  let server: LoopaiServer;
  let dataDir: string;
  const client = (options: { apiKey?: string; maxRetries?: number } = {}) =>
    new LoopaiClient('spam-test', { baseUrl: server.url, ...options });

  before(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-test');
    server = await startServer(dataDir, {
      LOOPAI_API_KEYS: `admin:${ADMIN_KEY},execute:${EXECUTE_KEY}:another-app`,
      LOOPAI_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
    });
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('no key or a wrong key is an AuthenticationError', async () => {
    const anonymous = client({ apiKey: '' });
    await rejectsWith(anonymous.execute({ text: 'hi' }), AuthenticationError, 401, 'unauthorized');
    await rejectsWith(anonymous.listApps(), AuthenticationError, 401, 'unauthorized');
    const wrong = client({ apiKey: 'not-a-key' });
    const error = await rejectsWith(wrong.execute({ text: 'hi' }), AuthenticationError, 401, 'unauthorized');
    assert.match(error.message, /not valid/);
  });

  it('a key limited to another app is a PermissionError, for that app and for admin calls', async () => {
    const limited = client({ apiKey: EXECUTE_KEY });
    await rejectsWith(limited.execute({ text: 'hi' }), PermissionError, 403, 'forbidden');
    await rejectsWith(limited.listApps(), PermissionError, 403, 'forbidden');
  });

  it('the key from LOOPAI_API_KEY is sent as a bearer token', async () => {
    process.env.LOOPAI_API_KEY = ADMIN_KEY;
    try {
      const fromEnv = client();
      assert.equal((await fromEnv.execute({ text: 'free prize' })).output, 'spam');
      assert.ok((await fromEnv.listApps()).loop_apps.some((a) => a.loop_app_id === 'spam-test'));
    } finally {
      delete process.env.LOOPAI_API_KEY;
    }
  });

  it('over the limit: a retrying call waits for Retry-After; without retries, a RateLimitError says how long', async () => {
    // A fetch that notes each answer's status, so the test sees the 429 the client retried.
    const statuses: number[] = [];
    const patient = new LoopaiClient('spam-test', {
      baseUrl: server.url,
      apiKey: ADMIN_KEY,
      maxRetries: 1,
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        statuses.push(res.status);
        return res;
      },
    });
    let waited: number | undefined;
    for (let i = 0; i <= PER_MINUTE && waited === undefined; i++) {
      statuses.length = 0;
      const started = Date.now();
      assert.equal((await patient.execute({ text: 'free prize' })).output, 'spam');
      if (statuses.includes(429)) waited = Date.now() - started;
    }
    assert.ok(waited !== undefined, `no 429 after ${PER_MINUTE + 1} calls`);
    assert.deepEqual(statuses, [429, 200]);
    // The first backoff step alone would be at most 500 ms; the server asked for 1 s.
    assert.ok(waited >= 950, `retried after ${waited} ms`);

    // The retry took the one token that came back; the next call is over the limit again.
    const impatient = client({ apiKey: ADMIN_KEY, maxRetries: 0 });
    const limited = await rejectsWith(impatient.execute({ text: 'hi' }), RateLimitError, 429, 'rate_limited');
    assert.equal(limited.retryAfterMs, 1000);
    assert.equal(limited.details?.limit_per_minute, PER_MINUTE);
  });
});
