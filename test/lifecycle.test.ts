import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { SPAM_PROGRAM, spamConfig, tmpDataDir } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

const program = { code: SPAM_PROGRAM, files: { 'words.json': '["win","prize","free"]' } };
const V2 = `function execute(input) { return { result: input.text.length > 20 ? 'spam' : 'ham', confidence: 0.5 }; }`;

describe('Loop App lifecycle over HTTP', () => {
  let server: RunningServer;
  let dataDir: string;
  const id = 'lifecycle-app';

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('create from a spec and a hand-written program; v1 is active and answers', async () => {
    // nothing sampled, so the answer's `sampled` is known (the default samples 5 % at random)
    const spec = { ...spamConfig(id, { sampling: { rate: 0 } }), program };
    const created = await call(server.url, 'POST', '/loop-apps', spec);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      loop_app_id: id,
      current_version: 'v1',
      endpoint: `/loop-apps/${id}/execute`,
    });
    const meta = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'loop-apps', id, 'artifacts', 'v1', 'metadata.json'), 'utf8'),
    );
    expect(meta.sha256).toBe(crypto.createHash('sha256').update(SPAM_PROGRAM).digest('hex'));
    expect(fs.readlinkSync(path.join(dataDir, 'loop-apps', id, 'artifacts', 'active'))).toBe('v1');

    const res = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'You win a prize' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      loop_app_id: id,
      version: 'v1',
      output: 'spam',
      confidence: 0.9,
      sampled: false,
    });
    expect(typeof res.body.execution_id).toBe('string');
    expect(res.body.latency_ms).toBeGreaterThan(0);
  });

  test('creating the same id twice is a conflict', async () => {
    const again = await call(server.url, 'POST', '/loop-apps', { ...spamConfig(id), program });
    expect(again.status).toBe(409);
  });

  test('a program that fails its check is refused and nothing is written', async () => {
    const bad = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('never-created'),
      program: { code: 'function execute(input) { return { result: 42 }; }' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.message).toMatch(/output_schema/);
    expect(fs.existsSync(path.join(dataDir, 'loop-apps', 'never-created'))).toBe(false);
  });

  test('list and detail', async () => {
    const list = await call(server.url, 'GET', '/loop-apps');
    expect(list.body.loop_apps.map((a: { loop_app_id: string }) => a.loop_app_id)).toContain(id);
    const detail = await call(server.url, 'GET', `/loop-apps/${id}`);
    expect(detail.body).toMatchObject({
      status: 'active',
      active_version: 'v1',
      current_version: 'v1',
      load_error: null,
    });
  });

  test('settings are written to config.yaml and read back', async () => {
    const patched = await call(server.url, 'PATCH', `/loop-apps/${id}`, {
      sampling: { rate: 0.2 },
      retention_days: 7,
    });
    expect(patched.status).toBe(200);
    expect(patched.body.sampling).toEqual({ rate: 0.2, strategy: 'uncertainty' });
    const onDisk = yaml.load(
      fs.readFileSync(path.join(dataDir, 'loop-apps', id, 'config.yaml'), 'utf8'),
    ) as any;
    expect(onDisk.retention_days).toBe(7);
    const invalid = await call(server.url, 'PATCH', `/loop-apps/${id}`, { sampling: { rate: 3 } });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body.error.details)).toMatch(/rate/);
  });

  test('pause → 503, resume → serves, archive → 410 with data kept', async () => {
    const execute = () => call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text: 'hi' } });
    expect((await call(server.url, 'POST', `/loop-apps/${id}/pause`)).body.status).toBe('paused');
    const paused = await execute();
    expect(paused.status).toBe(503);
    expect(paused.body.error.message).toMatch(/paused.*resume/);
    await call(server.url, 'POST', `/loop-apps/${id}/resume`);
    expect((await execute()).status).toBe(200);
  });

  test('versions: upload (testing), activate, rollback', async () => {
    const uploaded = await call(server.url, 'POST', `/loop-apps/${id}/versions`, { code: V2 });
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({
      version: 'v2',
      status: 'testing',
      parent: 'v1',
      generator: 'upload',
    });
    const stillV1 = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'a fairly long message here' },
    });
    expect(stillV1.body).toMatchObject({ version: 'v1', output: 'ham' });

    const activated = await call(server.url, 'POST', `/loop-apps/${id}/versions/v2/activate`);
    expect(activated.body.status).toBe('active');
    const onV2 = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'a fairly long message here' },
    });
    expect(onV2.body).toMatchObject({ version: 'v2', output: 'spam' });

    const versions = await call(server.url, 'GET', `/loop-apps/${id}/versions`);
    expect(versions.body.versions.map((v: { status: string }) => v.status)).toEqual(['retired', 'active']);

    const rolledBack = await call(server.url, 'POST', `/loop-apps/${id}/rollback`);
    expect(rolledBack.body).toMatchObject({ version: 'v1', status: 'active' });
    expect((await call(server.url, 'GET', `/loop-apps/${id}`)).body.current_version).toBe('v1');
    const noEarlier = await call(server.url, 'POST', `/loop-apps/${id}/rollback`);
    expect(noEarlier.status).toBe(409);
  });

  test('an uploaded program that does not compile is refused with the reason', async () => {
    const bad = await call(server.url, 'POST', `/loop-apps/${id}/versions`, {
      code: 'function execute(input) { return {',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_program');
    const versions = await call(server.url, 'GET', `/loop-apps/${id}/versions`);
    expect(versions.body.versions).toHaveLength(2);
  });

  test('batch execute answers every input in order, with per-item errors', async () => {
    const res = await call(server.url, 'POST', `/loop-apps/${id}/execute/batch`, {
      inputs: [{ text: 'free prize' }, { nope: 1 }, { text: 'see you at lunch' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0].output).toBe('spam');
    expect(res.body.results[1].error.code).toBe('invalid_input');
    expect(res.body.results[2].output).toBe('ham');
  });

  test('archive keeps data and answers 410', async () => {
    await call(server.url, 'POST', `/loop-apps/${id}/archive`);
    const res = await call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text: 'hi' } });
    expect(res.status).toBe(410);
    expect(fs.existsSync(path.join(dataDir, 'loop-apps', id, 'artifacts', 'v2', 'program.js'))).toBe(true);
  });
});
