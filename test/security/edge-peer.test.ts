import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../../src/server';
import { spamConfig, tmpDataDir, writeApp } from '../helpers/apps';
import { startFakeCloud, type FakeFile } from '../helpers/fake-cloud';
import { call, eventually, startTestServer } from '../helpers/server';

// A cloud is a peer like any other: an edge checks everything it sends before any of it serves.

const APP = 'peer-app';
const FORMAT = 'loopai-edge-manifest/1';
const program = (result: string) =>
  `function execute(input) { return { result: '${result}', confidence: 0.7 }; }`;
const config = spamConfig(APP, { sampling: { rate: 0 } });

describe('an edge and a cloud that lies', () => {
  let cloud: Awaited<ReturnType<typeof startFakeCloud>>;
  let edge: RunningServer;
  let edgeDir: string;
  /** A manifest of the app serving `version`, made of `files`. */
  const entry = (version: string, files: Record<string, FakeFile>, extra: Record<string, unknown> = {}) => ({
    loop_app_id: APP,
    config,
    active_version: version,
    canary: null,
    versions: { [version]: { files: cloud.files(files) } },
    ...extra,
  });
  const publish = (...apps: unknown[]) => cloud.publish({ format: FORMAT, apps });
  const served = async () =>
    (await call(edge.url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: 'hi' } })).body;
  const syncOf = async () => (await call(edge.url, 'GET', `/loop-apps/${APP}`)).body.sync;
  const status = async () => (await call(edge.url, 'GET', '/sync')).body;
  const artifacts = () => fs.readdirSync(path.join(edgeDir, 'loop-apps', APP, 'artifacts')).sort();

  beforeAll(async () => {
    cloud = await startFakeCloud();
    publish(entry('v1', { 'program.js': { bytes: program('ham') } }));
    edgeDir = tmpDataDir();
    edge = await startTestServer(edgeDir, {
      role: 'edge',
      cloud: { url: cloud.url, key: 'an-edge-key-of-16+', retry_max_ms: 200, wait_s: 2 },
    });
    await eventually(async () => expect((await served()).output).toBe('ham'));
  });
  afterAll(async () => {
    await edge.close();
    await cloud.close();
  });
  // each lie starts from the truth, applied
  beforeEach(async () => {
    publish(entry('v1', { 'program.js': { bytes: program('ham') } }));
    await eventually(async () => expect(await status()).toMatchObject({ state: 'synced', error: null }));
  });

  /** The edge still serves v1, from v1 on disk, and nothing else was put in place. */
  const keepsV1 = async () => {
    expect(await served()).toMatchObject({ version: 'v1', output: 'ham' });
    expect(fs.readlinkSync(path.join(edgeDir, 'loop-apps', APP, 'artifacts', 'active'))).toBe('v1');
    expect(artifacts()).toEqual(['active', 'v1']);
  };

  test('a file of the right size and the wrong bytes is never served', async () => {
    publish(entry('v2', { 'program.js': { bytes: program('spam'), served: program('SPAM') } }));
    await eventually(async () => expect((await syncOf()).error).toMatch(/sha256/));
    expect(await syncOf()).toMatchObject({ state: 'failed', version: 'v2' });
    await keepsV1();
  });

  test('a file the cloud cannot serve (404) leaves the last good version', async () => {
    publish(entry('v2', { 'program.js': { bytes: program('spam!'), served: null } }));
    await eventually(async () => expect((await syncOf()).error).toMatch(/answered 404/));
    await keepsV1();
  });

  test('a file longer than the manifest says is cut off and refused', async () => {
    publish(
      entry('v2', { 'program.js': { bytes: program('spam'), served: program('spam') + ' '.repeat(1000) } }),
    );
    await eventually(async () => expect((await syncOf()).error).toMatch(/more than \d+ bytes/));
    await keepsV1();
  });

  test('a version whose program fails its check does not replace the one that serves', async () => {
    publish(entry('v2', { 'program.js': { bytes: 'function execute(input) { return { result: 42 }; }' } }));
    await eventually(async () => expect((await syncOf()).error).toMatch(/output_schema/));
    expect(await served()).toMatchObject({ version: 'v1', output: 'ham' });
  });

  test('a config the edge cannot load does not replace the one it has', async () => {
    const bad = { ...config, validation: { schedule: 'every now and then' } };
    publish(entry('v1', { 'program.js': { bytes: program('ham') } }, { config: bad }));
    await eventually(async () => expect((await syncOf()).error).toMatch(/schedule/));
    const onDisk = fs.readFileSync(path.join(edgeDir, 'loop-apps', APP, 'config.yaml'), 'utf8');
    expect(onDisk).not.toContain('every now and then');
  });

  test.each([
    ['an app id that is a path', { loop_app_id: '../../etc' }],
    [
      'a file name that is a path',
      { versions: { v2: { files: { '../x.js': { sha256: 'a'.repeat(64), size: 1 } } } } },
    ],
    [
      'a file larger than a version may hold',
      { versions: { v2: { files: { 'a.js': { sha256: 'a'.repeat(64), size: 1e9 } } } } },
    ],
    ['a version name that is none', { active_version: 'latest', versions: { latest: { files: {} } } }],
    ['an active version it does not list', { active_version: 'v7' }],
  ])('a manifest with %s is refused whole, and the edge keeps serving', async (_name, lie) => {
    publish({ ...entry('v1', { 'program.js': { bytes: program('ham') } }), ...lie });
    await eventually(async () =>
      expect(await status()).toMatchObject({ state: 'retrying', error: expect.stringMatching(/manifest/) }),
    );
    await keepsV1();
    expect(fs.readdirSync(path.join(edgeDir, 'loop-apps')).filter((n) => n !== APP)).toEqual([]);
  });

  test('a version the edge holds is never rewritten: other program bytes under the same name are refused', async () => {
    publish(entry('v1', { 'program.js': { bytes: program('SPAM') } }));
    await eventually(async () => expect((await syncOf()).error).toMatch(/never rewritten/));
    await keepsV1();
    expect(
      fs.readFileSync(path.join(edgeDir, 'loop-apps', APP, 'artifacts', 'v1', 'program.js'), 'utf8'),
    ).toBe(program('ham'));
  });

  test('an app the cloud has but cannot load now is kept as it is, not removed', async () => {
    const before = (await status()).last_synced_at;
    cloud.publish({ format: FORMAT, apps: [], unavailable: [APP] });
    // applied: a pass has run since
    await eventually(async () => expect((await status()).last_synced_at).not.toBe(before));
    await keepsV1();
  });

  test('when the cloud tells the truth again, the edge follows it', async () => {
    publish(entry('v2', { 'program.js': { bytes: program('spam') } }));
    await eventually(async () => expect(await served()).toMatchObject({ version: 'v2', output: 'spam' }));
    expect(await syncOf()).toMatchObject({ state: 'synced', error: null });
  });
});

describe('the edge API of a cloud', () => {
  let cloud: RunningServer;
  const keys = {
    admin: 'admin-key-of-the-cloud-test',
    edge: 'edge-key-of-the-cloud-test',
    partial: 'edge-key-for-one-app-only',
    execute: 'execute-key-of-the-cloud-test',
  };
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    const dir = tmpDataDir();
    for (const id of ['app-one', 'app-two']) writeApp(dir, id, { versions: [{ 'program.js': program(id) }] });
    cloud = await startTestServer(dir, {
      role: 'cloud',
      auth: {
        api_keys: [
          { role: 'admin', key: keys.admin },
          { role: 'edge', key: keys.edge },
          { role: 'edge', key: keys.partial, apps: ['app-one'] },
          { role: 'execute', key: keys.execute },
        ],
        rate_limit_per_minute: 0,
        allow_anonymous: false,
      },
    });
  });
  afterAll(() => cloud.close());

  test('needs an edge or admin key', async () => {
    expect((await call(cloud.url, 'GET', '/edge/v1/manifest')).status).toBe(401);
    expect((await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, as(keys.execute))).status).toBe(403);
    expect((await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, as(keys.admin))).status).toBe(200);
  });

  test('an edge key limited to some apps sees only those, and only their files', async () => {
    const all = await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, as(keys.edge));
    const one = await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, as(keys.partial));
    expect(all.body.apps.map((a: any) => a.loop_app_id)).toEqual(['app-one', 'app-two']);
    expect(one.body.apps.map((a: any) => a.loop_app_id)).toEqual(['app-one']);
    const other = all.body.apps[1].versions.v1.files['program.js'].sha256;
    expect((await call(cloud.url, 'GET', `/edge/v1/blobs/${other}`, undefined, as(keys.edge))).status).toBe(
      200,
    );
    expect(
      (await call(cloud.url, 'GET', `/edge/v1/blobs/${other}`, undefined, as(keys.partial))).status,
    ).toBe(404);
  });

  test('a long-poll is bounded, and a file is named only by its digest', async () => {
    const wait = await call(cloud.url, 'GET', '/edge/v1/manifest?wait=3600', undefined, as(keys.edge));
    expect(wait.status).toBe(400);
    const blob = await call(
      cloud.url,
      'GET',
      '/edge/v1/blobs/..%2F..%2Fconfig.yaml',
      undefined,
      as(keys.edge),
    );
    expect(blob.status).toBe(400);
  });

  test('an unchanged manifest answers 304 to its ETag, and at once when it changes', async () => {
    const first = await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, as(keys.edge));
    const etag = first.headers.get('etag')!;
    const same = await call(cloud.url, 'GET', '/edge/v1/manifest', undefined, {
      ...as(keys.edge),
      'if-none-match': etag,
    });
    expect(same.status).toBe(304);
    const started = Date.now();
    const waiting = call(cloud.url, 'GET', '/edge/v1/manifest?wait=20', undefined, {
      ...as(keys.edge),
      'if-none-match': etag,
    });
    await new Promise((r) => setTimeout(r, 200));
    await call(cloud.url, 'POST', '/loop-apps/app-two/pause', undefined, as(keys.admin));
    const changed = await waiting;
    expect(changed.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(changed.body.apps[1].config.status).toBe('paused');
  });

  test('telemetry is checked before any of it is kept, and only for the apps of the key', async () => {
    const batch = (edge: string, app: string) => ({
      format: 'loopai-edge-telemetry/1',
      batch_id: '0b7c6f5e-7d1a-4c3e-9a8b-1f2e3d4c5b6a',
      edge,
      created_at: new Date().toISOString(),
      apps: [{ loop_app_id: app, samples: [], feedback: [], counters: {} }],
    });
    const send = (body: unknown, key: string) => call(cloud.url, 'POST', '/edge/v1/telemetry', body, as(key));
    expect((await send(batch('../../etc', 'app-one'), keys.edge)).status).toBe(400);
    expect((await send({ format: 'something else' }, keys.edge)).status).toBe(400);
    expect((await send(batch('edge-1', 'app-one'), keys.execute)).status).toBe(403);
    const other = await send(batch('edge-1', 'app-two'), keys.partial);
    expect(other.status).toBe(200);
    expect(other.body.skipped).toEqual({ 'app-two': 'the key may not send for this app' });
  });
});

test('a cloud with no apps yet answers its edges', async () => {
  const empty = await startTestServer(tmpDataDir(), { role: 'cloud' });
  try {
    const res = await call(empty.url, 'GET', '/edge/v1/manifest');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ format: FORMAT, apps: [], unavailable: [] });
  } finally {
    await empty.close();
  }
});
