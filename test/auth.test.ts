import crypto from 'node:crypto';
import type { RunningServer } from '../src/server';
import { loadSettings } from '../src/settings';
import { tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

const ADMIN = 'admin-key-0123456789';
const EXEC = 'exec-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const input = { input: { text: 'win a prize' } };

describe('API keys, roles and rate limits', () => {
  let server: RunningServer;

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-a');
    writeApp(dataDir, 'spam-b');
    server = await startTestServer(dataDir, {
      auth: {
        api_keys: [
          { name: 'ops', role: 'admin', key_sha256: crypto.createHash('sha256').update(ADMIN).digest('hex') },
          { name: 'shop', role: 'execute', key: EXEC, apps: ['spam-a'] },
        ],
        rate_limit_per_minute: 0,
        allow_anonymous: false,
      },
    });
  });
  afterAll(() => server.close());

  test('no key or a wrong key: 401 before any work (a broken body is not even read)', async () => {
    for (const headers of [{}, bearer('not-a-key-at-all')]) {
      const res = await call(server.url, 'POST', '/loop-apps/spam-a/execute', '{broken', headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect((await call(server.url, 'GET', '/loop-apps', undefined, headers)).status).toBe(401);
    }
  });

  test('an execute key executes its own apps only and cannot administer', async () => {
    const ok = await call(server.url, 'POST', '/loop-apps/spam-a/execute', input, bearer(EXEC));
    expect(ok.status).toBe(200);
    expect(ok.body.output).toBe('spam');
    const batch = await call(
      server.url,
      'POST',
      '/loop-apps/spam-a/execute/batch',
      { inputs: [{ text: 'x' }] },
      { 'x-api-key': EXEC },
    );
    expect(batch.status).toBe(200);
    const other = await call(server.url, 'POST', '/loop-apps/spam-b/execute', input, bearer(EXEC));
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/may not execute 'spam-b'/);
    const admin = await call(server.url, 'GET', '/loop-apps', undefined, bearer(EXEC));
    expect(admin.status).toBe(403);
    expect(admin.body.error.message).toMatch(/admin key/);
  });

  test('an admin key (given hashed in the settings) does everything', async () => {
    expect(
      (await call(server.url, 'GET', '/loop-apps', undefined, bearer(ADMIN))).body.loop_apps,
    ).toHaveLength(2);
    expect((await call(server.url, 'POST', '/loop-apps/spam-b/execute', input, bearer(ADMIN))).status).toBe(
      200,
    );
    expect((await call(server.url, 'POST', '/loop-apps/spam-b/pause', undefined, bearer(ADMIN))).status).toBe(
      200,
    );
  });

  test('metrics need an admin key', async () => {
    expect((await call(server.url, 'GET', '/metrics')).status).toBe(401);
    expect((await call(server.url, 'GET', '/metrics', undefined, bearer(EXEC))).status).toBe(403);
    expect((await call(server.url, 'GET', '/metrics', undefined, bearer(ADMIN))).status).toBe(200);
  });

  test('probes stay open', async () => {
    expect((await call(server.url, 'GET', '/health')).status).toBe(200);
    expect((await call(server.url, 'GET', '/ready')).status).toBe(200);
  });
});

test('a key over its rate gets 429 with Retry-After, on execute and on the API', async () => {
  const dataDir = tmpDataDir();
  writeApp(dataDir, 'spam-a');
  const server = await startTestServer(dataDir, {
    auth: { api_keys: [{ role: 'admin', key: ADMIN }], rate_limit_per_minute: 3, allow_anonymous: false },
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await call(server.url, 'POST', '/loop-apps/spam-a/execute', input, bearer(ADMIN))).status,
      );
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await call(server.url, 'POST', '/loop-apps/spam-a/execute', input, bearer(ADMIN));
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const api = await call(server.url, 'GET', '/loop-apps', undefined, bearer(ADMIN));
    expect(api.status).toBe(429);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  } finally {
    await server.close();
  }
});

test('without keys the server keeps to loopback unless allow_anonymous is set', async () => {
  const open = await startTestServer(tmpDataDir(), { host: '0.0.0.0' });
  try {
    expect(new URL(open.url).hostname).toBe('127.0.0.1');
  } finally {
    await open.close();
  }
  const anonymous = await startTestServer(tmpDataDir(), {
    host: '0.0.0.0',
    auth: { api_keys: [], rate_limit_per_minute: 0, allow_anonymous: true },
  });
  try {
    expect(new URL(anonymous.url).hostname).toBe('0.0.0.0');
  } finally {
    await anonymous.close();
  }
});

test('LOOPAI_API_KEYS: role:key[:app+app], keys hashed on reading, sha256: form accepted', () => {
  const digest = crypto.createHash('sha256').update('another-secret-key').digest('hex');
  const s = loadSettings(
    {},
    {
      LOOPAI_CONFIG: '/nonexistent',
      LOOPAI_API_KEYS: `admin:${ADMIN}, execute:${EXEC}:spam-a+spam-b, execute:sha256:${digest}`,
      LOOPAI_RATE_LIMIT_PER_MINUTE: '60',
    },
  );
  expect(s.auth.rate_limit_per_minute).toBe(60);
  expect(s.auth.api_keys).toEqual([
    { name: 'env-1', role: 'admin', key_sha256: crypto.createHash('sha256').update(ADMIN).digest('hex') },
    {
      name: 'env-2',
      role: 'execute',
      key_sha256: crypto.createHash('sha256').update(EXEC).digest('hex'),
      apps: ['spam-a', 'spam-b'],
    },
    { name: 'env-3', role: 'execute', key_sha256: digest },
  ]);
  expect(JSON.stringify(s)).not.toContain(ADMIN);
  expect(() =>
    loadSettings({}, { LOOPAI_CONFIG: '/nonexistent', LOOPAI_API_KEYS: 'owner:some-key-1234567890' }),
  ).toThrow(/auth/);
});
