import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { SPAM_PROGRAM, spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

const program = { code: SPAM_PROGRAM, files: { 'words.json': '["win","prize","free"]' } };
const V2 = `function execute(input) { return { result: input.text.length > 20 ? 'spam' : 'ham', confidence: 0.5 }; }`;

/** `deprecated` is a status a person sets: it stops activation and rollback to a version unless forced. */
describe('deprecated versions', () => {
  let server: RunningServer;
  let dataDir: string;
  const id = 'deprecation-app';
  const post = (p: string, body?: unknown) => call(server.url, 'POST', `/loop-apps/${id}${p}`, body);
  const statuses = async () =>
    (await call(server.url, 'GET', `/loop-apps/${id}/versions`)).body.versions.map(
      (v: { status: string }) => v.status,
    );

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir);
    expect((await call(server.url, 'POST', '/loop-apps', { ...spamConfig(id), program })).status).toBe(201);
    expect((await post('/versions', { code: V2 })).status).toBe(201);
    expect((await post('/versions/v2/activate')).body.status).toBe('active');
  });
  afterAll(() => server.close());

  test('a replaced version is retired, not deprecated, and stays a rollback target', async () => {
    expect(await statuses()).toEqual(['retired', 'active']);
  });

  test('the active version cannot be deprecated', async () => {
    const res = await post('/versions/v2/deprecate', { reason: 'no' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/active version.*activate another/);
  });

  test('deprecate with a reason: kept in metadata.json, refused for activate and rollback without force', async () => {
    const res = await post('/versions/v1/deprecate', { reason: 'trained on 30 rows' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      version: 'v1',
      status: 'deprecated',
      deprecated: { reason: 'trained on 30 rows' },
    });
    const meta = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'loop-apps', id, 'artifacts', 'v1', 'metadata.json'), 'utf8'),
    );
    expect(meta.deprecated.reason).toBe('trained on 30 rows');
    expect(await statuses()).toEqual(['deprecated', 'active']);

    for (const refused of [await post('/versions/v1/activate'), await post('/rollback', { force: false })]) {
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('version_deprecated');
      expect(refused.body.error.message).toMatch(/v1 .*deprecated \(trained on 30 rows\).*force/);
    }
    const still = await post('/execute', { input: { text: 'a fairly long message here' } });
    expect(still.body.version).toBe('v2');

    const events = (await call(server.url, 'GET', `/loop-apps/${id}/events`)).body.events;
    expect(events.map((e: { type: string }) => e.type)).toContain('deprecated');
  });

  test('force rolls back to a deprecated version; it then serves and shows as active', async () => {
    const res = await post('/rollback', { force: true });
    expect(res.body).toMatchObject({ version: 'v1', status: 'active' });
    const served = await post('/execute', { input: { text: 'a fairly long message here' } });
    expect(served.body.version).toBe('v1');
    expect((await post('/versions/v2/activate')).status).toBe(200);
  });

  test('reinstate takes it back: activation works again without force', async () => {
    const res = await post('/versions/v1/reinstate');
    expect(res.body).toMatchObject({ version: 'v1', status: 'retired' });
    expect(res.body.deprecated).toBeUndefined();
    expect((await post('/versions/v1/activate')).body.status).toBe('active');
  });

  test('bad bodies get a 400 saying what to fix; unknown versions a 404', async () => {
    const force = await post('/rollback', { force: 'yes' });
    expect(force.status).toBe(400);
    expect(force.body.error.message).toMatch(/"force" must be true or false/);
    const reason = await post('/versions/v2/deprecate', { reason: 'x'.repeat(1001) });
    expect(reason.status).toBe(400);
    expect((await post('/versions/v9/deprecate')).status).toBe(404);
    expect((await post('/versions/v9/reinstate')).status).toBe(404);
  });

  test('data written before `retired` existed: a replaced version marked "deprecated" reads as retired', async () => {
    const old = 'legacy-app';
    writeApp(dataDir, old, {
      versions: [{ 'program.js': V2 }, { 'program.js': V2 }],
      active: 'v2',
    });
    fs.writeFileSync(
      path.join(dataDir, 'loop-apps', old, 'artifacts', 'v1', 'metadata.json'),
      JSON.stringify({
        version: 'v1',
        created_at: '',
        generator: 'upload',
        parent: null,
        status: 'deprecated',
        sha256: '',
        files: {},
      }),
    );
    await server.registry.reload(old);
    const v1 = await call(server.url, 'GET', `/loop-apps/${old}/versions/v1`);
    expect(v1.body.status).toBe('retired');
    expect((await call(server.url, 'POST', `/loop-apps/${old}/versions/v1/activate`)).status).toBe(200);
  });
});
