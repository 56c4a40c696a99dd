import type { RunningServer } from '../src/server';
import { tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

describe('bad input gets a 4xx that says what to fix', () => {
  let server: RunningServer;
  const exec = '/loop-apps/spam-app/execute';

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-app');
    server = await startTestServer(dataDir, { max_body_bytes: 4096 });
  });
  afterAll(() => server.close());

  const expectError = (res: { status: number; body: any }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(10);
  };

  test('malformed JSON → 400', async () => {
    expectError(await call(server.url, 'POST', exec, '{"input": {"text": '), 400, 'malformed_json');
  });

  test('wrong content type → 415', async () => {
    const res = await call(server.url, 'POST', exec, undefined, { 'content-type': 'text/plain' });
    expectError(res, 415, 'unsupported_media_type');
  });

  test('missing input → 400', async () => {
    expectError(await call(server.url, 'POST', exec, { text: 'forgot the wrapper' }), 400, 'missing_input');
  });

  test('input failing the schema → 400 naming the field', async () => {
    const res = await call(server.url, 'POST', exec, { input: { txt: 'typo' } });
    expectError(res, 400, 'invalid_input');
    expect(JSON.stringify(res.body.error.details)).toMatch(/text/);
  });

  test('unknown app → 404', async () => {
    expectError(
      await call(server.url, 'POST', '/loop-apps/no-such-app/execute', { input: { text: 'x' } }),
      404,
      'not_found',
    );
  });

  test('bad ids → 400 before any path is built', async () => {
    expectError(
      await call(server.url, 'POST', '/loop-apps/..%2Fx/execute', { input: { text: 'x' } }),
      400,
      'invalid_id',
    );
    expectError(await call(server.url, 'GET', `/loop-apps/${'a'.repeat(200)}`), 400, 'invalid_id');
    expectError(await call(server.url, 'GET', '/loop-apps/Upper_Case'), 400, 'invalid_id');
  });

  test('oversized body → 413 with the limit', async () => {
    const res = await call(server.url, 'POST', exec, { input: { text: 'x'.repeat(10_000) } });
    expectError(res, 413, 'body_too_large');
    expect(res.body.error.message).toMatch(/4096/);
  });

  test('unknown route → 404 in the same format', async () => {
    expectError(await call(server.url, 'GET', '/nowhere'), 404, 'not_found');
  });

  test('invalid spec on create → 400 listing what is wrong', async () => {
    const res = await call(server.url, 'POST', '/loop-apps', { loop_app_id: 'new-app', task: '' });
    expectError(res, 400, 'invalid_spec');
    expect(JSON.stringify(res.body.error.details)).toMatch(/input_schema/);
  });

  test('after all of that the app still answers', async () => {
    const res = await call(server.url, 'POST', exec, { input: { text: 'hello' } });
    expect(res.status).toBe(200);
    expect(res.body.output).toBe('ham');
  });

  test('health and ready', async () => {
    expect((await call(server.url, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await call(server.url, 'GET', '/ready')).status).toBe(200);
  });
});
