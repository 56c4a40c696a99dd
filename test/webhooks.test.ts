import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { tmpDataDir, writeApp } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

const SECRET = 'webhook-secret-123';

interface Received {
  type: string;
  body: { type: string; loop_app_id: string; data: Record<string, unknown> };
  signatureOk: boolean;
}

describe('webhooks', () => {
  let server: RunningServer;
  let receiver: http.Server;
  let dataDir: string;
  const received: Received[] = [];
  /** Answers 500 this many more times before accepting. */
  let failures = 0;
  let attempts = 0;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        attempts += 1;
        if (failures > 0) {
          failures -= 1;
          res.writeHead(500).end();
          return;
        }
        const expected = crypto.createHmac('sha256', SECRET).update(raw).digest('hex');
        received.push({
          type: String(req.headers['x-loopai-event']),
          body: JSON.parse(raw),
          signatureOk: req.headers['x-loopai-signature'] === `sha256=${expected}`,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    dataDir = tmpDataDir();
    writeApp(dataDir, 'hooked');
    server = await startTestServer(dataDir, {
      webhooks: [
        {
          url,
          events: ['version_created', 'version_promoted', 'version_rolled_back', 'load_error'],
          secret: SECRET,
        },
      ],
    });
  });
  afterAll(async () => {
    await server.close();
    await new Promise((r) => receiver.close(r));
  });

  const waitFor = (type: string) =>
    eventually(() => {
      const hit = received.find((r) => r.type === type);
      if (!hit) throw new Error(`no ${type} yet`);
      return hit;
    }, 8000);

  test('version created, promoted and rolled back: signed POSTs with the figures', async () => {
    const code = 'function execute(input) { return { result: "ham", confidence: 1 }; }';
    expect((await call(server.url, 'POST', '/loop-apps/hooked/versions', { code })).status).toBe(201);
    const created = await waitFor('version_created');
    expect(created.signatureOk).toBe(true);
    expect(created.body).toMatchObject({
      type: 'version_created',
      loop_app_id: 'hooked',
      data: { version: 'v2' },
    });

    await call(server.url, 'POST', '/loop-apps/hooked/versions/v2/activate');
    expect((await waitFor('version_promoted')).body.data).toMatchObject({ version: 'v2', from: 'v1' });
    await call(server.url, 'POST', '/loop-apps/hooked/rollback');
    expect((await waitFor('version_rolled_back')).body.data).toMatchObject({ version: 'v1', from: 'v2' });
    // a person's decisions join the event log beside the policy's
    const events = (await call(server.url, 'GET', '/loop-apps/hooked/events')).body.events;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['rolled_back', 'activated']);
    expect(events[0]).toMatchObject({ version: 'v1', from: 'v2' });
  });

  test('a receiver that fails is tried again with backoff; a load error is reported', async () => {
    failures = 2;
    const before = attempts;
    fs.writeFileSync(path.join(dataDir, 'loop-apps', 'hooked', 'config.yaml'), 'loop_app_id: [broken');
    const hit = await waitFor('load_error');
    expect(hit.body.data.error).toMatch(/YAML/);
    expect(attempts - before).toBeGreaterThanOrEqual(3);
  });
});
