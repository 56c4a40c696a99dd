import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { spawnServer } from './helpers/process';
import { call, startTestServer } from './helpers/server';

const today = () => new Date().toISOString().slice(0, 10);
const linesOf = (dataDir: string, id: string) => {
  const file = path.join(dataDir, 'loop-apps', id, 'datasets', 'executions', `${today()}.jsonl`);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
};
const text = 'Mail me at jane.doe@example.com or call +1 415-555-0134, card 4111 1111 1111 1111, win a prize';

describe('execution log', () => {
  describe('privacy and record shape', () => {
    let server: RunningServer;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = tmpDataDir();
      for (const mode of ['full', 'redacted', 'hashed', 'none']) {
        writeApp(dataDir, `privacy-${mode}`, {
          config: spamConfig(`privacy-${mode}`, { privacy: { store_inputs: mode, redact: [] } }),
        });
      }
      writeApp(dataDir, 'privacy-partial', {
        config: spamConfig('privacy-partial', { privacy: { store_inputs: 'full', redact: ['email'] } }),
      });
      server = await startTestServer(dataDir);
      for (const id of ['full', 'redacted', 'hashed', 'none', 'partial']) {
        const res = await call(server.url, 'POST', `/loop-apps/privacy-${id}/execute`, { input: { text } });
        expect(res.status).toBe(200);
      }
      await call(server.url, 'POST', '/loop-apps/privacy-full/execute', { input: { wrong: 1 } });
      await server.close(); // graceful close flushes the log
    });

    const record = (id: string) => JSON.parse(linesOf(dataDir, `privacy-${id}`)[0]);

    test('each line has id, ts, version, output, confidence, latency, status', () => {
      expect(record('full')).toMatchObject({
        version: 'v1',
        output: 'spam',
        confidence: 0.9,
        status: 'ok',
        input: { text },
      });
      expect(typeof record('full').id).toBe('string');
      expect(Date.parse(record('full').ts)).not.toBeNaN();
      expect(record('full').latency_ms).toBeGreaterThan(0);
    });

    test('rejected input is not an execution', () => {
      expect(linesOf(dataDir, 'privacy-full')).toHaveLength(1);
    });

    test('redacted removes emails, phones and card numbers', () => {
      const stored = record('redacted').input.text;
      expect(stored).not.toMatch(/jane\.doe|555|4111/);
      expect(stored).toMatch(/\[email\].*\[phone\].*\[card\].*win a prize/);
    });

    test('full with a redact list removes only what is listed', () => {
      const stored = record('partial').input.text;
      expect(stored).toMatch(/\[email\]/);
      expect(stored).toMatch(/555-0134/);
    });

    test('hashed keeps a sha256 only; none keeps nothing', () => {
      expect(record('hashed').input).toBeNull();
      expect(record('hashed').input_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(record('none').input).toBeNull();
      expect(record('none').input_hash).toBeUndefined();
    });
  });

  test('SIGTERM: stops gracefully, exit 0, every answered execution is on disk', async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'term-app');
    const { proc, url, exited } = await spawnServer(dataDir);
    const answered = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(url, 'POST', '/loop-apps/term-app/execute', { input: { text: `msg ${i}` } }),
      ),
    );
    expect(answered.every((r) => r.status === 200)).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const ids = new Set(linesOf(dataDir, 'term-app').map((l) => JSON.parse(l).id));
    for (const r of answered) expect(ids.has(r.body.execution_id)).toBe(true);
  });

  test('kill -9 under load: every line left on disk parses', async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'crash-app');
    const { proc, url, exited } = await spawnServer(dataDir, {});
    let stop = false;
    const load = async () => {
      while (!stop) {
        await call(url, 'POST', '/loop-apps/crash-app/execute', { input: { text: 'x'.repeat(2000) } }).catch(
          () => (stop = true),
        );
      }
    };
    const clients = Array.from({ length: 16 }, load);
    await new Promise((r) => setTimeout(r, 1500));
    proc.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(clients);
    const lines = linesOf(dataDir, 'crash-app');
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();

    // a restarted server appends after whatever tail the crash left, and the file stays parseable
    const again = await spawnServer(dataDir);
    await call(again.url, 'POST', '/loop-apps/crash-app/execute', { input: { text: 'after the crash' } });
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    const after = linesOf(dataDir, 'crash-app');
    expect(after.length).toBe(lines.length + 1);
    for (const line of after) expect(() => JSON.parse(line)).not.toThrow();
  });
});
