import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { RunningServer } from '../../src/server';
import { SPAM_PROGRAM, spamConfig, tmpDataDir, writeApp } from '../helpers/apps';
import { call, eventually, startTestServer } from '../helpers/server';

/** Requests and files that once cost the server seconds to hours, or answered 500: each is a clear 4xx now. */

/** Answers within `ms`, or the event loop was blocked that long (a liveness bound, not a speed target). */
async function healthWithin(base: string, ms: number): Promise<void> {
  const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(ms) });
  expect(res.status).toBe(200);
}

/** 8 levels of 10 references each: 876 bytes of YAML, 10^8 paths for a schema walker. */
function aliasBomb(id: string): string {
  const lines = [
    `loop_app_id: ${id}`,
    'task: Classify messages',
    'input_schema:',
    '  type: object',
    '  definitions:',
  ];
  lines.push('    l0: &l0 {type: string}');
  for (let level = 1; level <= 8; level++)
    lines.push(
      `    l${level}: &l${level} {allOf: [${Array(10)
        .fill(`*l${level - 1}`)
        .join(', ')}]}`,
    );
  lines.push('  properties: {text: *l8}', 'output_schema: {type: string, enum: [spam, ham]}');
  return lines.join('\n') + '\n';
}

describe('hostile input is refused cheaply and clearly', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'spam', {
      config: spamConfig('spam', {
        input_schema: {
          type: 'object',
          properties: { text: { type: 'string' }, sender: { type: 'string' } },
        },
        privacy: { store_inputs: 'redacted', redact: ['email', 'phone', 'card'] },
      }),
    });
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('redaction runs in linear time: a 1 MB sender neither blocks the server nor the call', async () => {
    for (const sender of [
      'a'.repeat(150_000),
      'a'.repeat(1_000_000 - 200),
      '1'.repeat(1_000_000 - 200),
      'a@'.repeat(490_000),
    ]) {
      const started = Date.now();
      const execute = call(server.url, 'POST', '/loop-apps/spam/execute', {
        input: { text: 'hello', sender },
      });
      await healthWithin(server.url, 1000);
      const res = await execute;
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });

  test('malformed percent-encoding is a 400, never a 500', async () => {
    for (const [method, url] of [
      ['GET', '/loop-apps/%'],
      ['GET', '/loop-apps/%zz'],
      ['GET', '/loop-apps/%ff'],
      ['GET', '/loop-apps/spam/versions/%'],
      ['POST', '/loop-apps/%/execute'],
      ['POST', '/loop-apps/%E0%A4%A/execute/batch'],
      ['GET', '/jobs/%c0'],
    ]) {
      const res = await call(
        server.url,
        method,
        url,
        method === 'POST' ? { input: { text: 'x' } } : undefined,
      );
      expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'malformed_url']);
    }
  });

  test('JSON nested past max_json_depth is a 400 naming the limit, for every body-reading route', async () => {
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    for (const [url, body] of [
      ['/loop-apps/spam/execute', `{"input":${deep(3000)}}`],
      ['/loop-apps/spam/execute/batch', `{"inputs":[{"text":"ok"},${deep(3000)}]}`],
      [
        '/loop-apps/spam/examples',
        `[{"input":{"text":"ok"},"output":"ham"},{"input":${deep(6000)},"output":"ham"}]`,
      ],
      ['/loop-apps', `{"loop_app_id":"deep-app","task":"t","input_schema":${deep(100)},"output_schema":{}}`],
    ]) {
      const res = await call(server.url, 'POST', url, body);
      expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'too_deep']);
      expect(res.body.error.message).toMatch(/max_json_depth/);
    }
    expect(fs.existsSync(path.join(dataDir, 'loop-apps', 'spam', 'datasets', 'examples.jsonl'))).toBe(false);
    const ok = await call(
      server.url,
      'POST',
      '/loop-apps/spam/execute',
      `{"input":{"text":"free","n":${deep(20)}}}`,
    );
    expect(ok.status).toBe(200);
  });

  test.each([
    [40_000, /more than 10000 values/],
    [5_000, /enum of 5000 values; at most 1000/],
  ])('an enum of %d labels is a 400 at once, not a blocked server', async (count, why) => {
    const labels = Array.from({ length: count }, (_, i) => `label-${i}`);
    const create = call(server.url, 'POST', '/loop-apps', {
      loop_app_id: 'huge-enum',
      task: 'Pick one of many',
      input_schema: { type: 'object', properties: { kind: { enum: labels } } },
      output_schema: { type: 'string', enum: ['a', 'b'] },
      program: { code: SPAM_PROGRAM },
    });
    await healthWithin(server.url, 1000);
    const res = await create;
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_schema');
    expect(res.body.error.message).toMatch(why);
  });

  test('config.yaml with an alias bomb or 3 MB of schema is a load error; the server keeps answering', async () => {
    writeApp(dataDir, 'alias-bomb');
    writeApp(dataDir, 'huge-config');
    await eventually(async () => {
      const res = await call(server.url, 'POST', '/loop-apps/alias-bomb/execute', {
        input: { text: 'free' },
      });
      expect(res.status).toBe(200);
    });
    fs.writeFileSync(path.join(dataDir, 'loop-apps', 'alias-bomb', 'config.yaml'), aliasBomb('alias-bomb'));
    const huge = spamConfig('huge-config', {
      input_schema: {
        type: 'object',
        properties: { kind: { enum: Array.from({ length: 200_000 }, (_, i) => `k${i}`) } },
      },
    });
    fs.writeFileSync(path.join(dataDir, 'loop-apps', 'huge-config', 'config.yaml'), JSON.stringify(huge));
    for (const [id, why] of [
      ['alias-bomb', /aliases/],
      ['huge-config', /bytes; at most/],
    ] as const) {
      const app = await eventually(async () => {
        await healthWithin(server.url, 1000);
        const res = await call(server.url, 'GET', `/loop-apps/${id}`);
        expect(res.body.load_error).toMatch(why);
        return res.body;
      }, 20_000);
      // the config that was serving keeps serving
      expect(app.serving_version).toBe('v1');
      const res = await call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text: 'free' } });
      expect(res.status).toBe(200);
    }
  });

  test('a wrong method is a 405 with Allow; OPTIONS lists the methods', async () => {
    const res = await call(server.url, 'DELETE', '/loop-apps/spam');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH');
    expect(res.body.error.code).toBe('method_not_allowed');
    const get = await call(server.url, 'GET', '/loop-apps/spam/execute');
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const options = await call(server.url, 'OPTIONS', '/loop-apps/spam/versions');
    expect([options.status, options.headers.get('allow')]).toEqual([204, 'GET, HEAD, POST']);
  });

  test('a 70 KB Authorization header gets a JSON 431, not a reset', async () => {
    const { port } = new URL(server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET /loop-apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(70_000)}\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 431/);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).error.code).toBe('headers_too_large');
  });
});
