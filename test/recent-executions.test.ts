import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { readLastJsonl } from '../src/store/files';
import { tmpDataDir, writeApp } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

describe('recent executions', () => {
  test('the last lines of a large file, with multi-byte text across block edges', async () => {
    const file = path.join(tmpDataDir(), 'big.jsonl');
    const rows = Array.from({ length: 3000 }, (_, i) => ({ i, text: `ünïcödé ${'é'.repeat(i % 50)} ✓` }));
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    expect(fs.statSync(file).size).toBeGreaterThan(64 * 1024);
    expect(await readLastJsonl(file, 5)).toEqual(rows.slice(-5));
    expect(await readLastJsonl(file, 2000)).toEqual(rows.slice(-2000));
    expect(await readLastJsonl(file, 5000)).toEqual(rows);
    expect(await readLastJsonl(path.join(path.dirname(file), 'missing.jsonl'), 5)).toEqual([]);
  });

  describe('GET /loop-apps/{id}/executions', () => {
    let server: RunningServer;
    beforeAll(async () => {
      const dataDir = tmpDataDir();
      writeApp(dataDir, 'recent-app');
      server = await startTestServer(dataDir, { execution_log: { flush_interval_ms: 20 } });
    });
    afterAll(() => server.close());

    test('newest first, limited, after the log is flushed', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await call(server.url, 'POST', '/loop-apps/recent-app/execute', {
          input: { text: `message ${i}` },
        });
        ids.push(res.body.execution_id);
      }
      await eventually(async () => {
        const res = await call(server.url, 'GET', '/loop-apps/recent-app/executions?limit=10');
        expect(res.body.executions.map((e: { id: string }) => e.id)).toEqual(ids.slice(-10).reverse());
      });
      const bad = await call(server.url, 'GET', '/loop-apps/recent-app/executions?limit=0');
      expect(bad.status).toBe(400);
      expect((await call(server.url, 'GET', '/loop-apps/nope-app/executions')).status).toBe(404);
    });
  });
});
