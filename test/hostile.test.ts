import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

/** Programs that try to hang, exhaust memory, crash or escape. Each must fail only its own call. */
const HOSTILE: Record<string, string> = {
  'loop-forever': 'function execute(input) { while (true) {} }',
  'map-bomb':
    'function execute(input) { var m = new Map(); for (var i = 0; ; i++) m.set("k" + i, { i: i }); }',
  'set-bomb':
    'function execute(input) { var s = new Set(); for (var i = 0; ; i++) s.add("k" + i + input.text); }',
  'dict-bomb': 'function execute(input) { var d = {}; for (var i = 0; ; i++) d["k" + i] = [i]; }',
  'deep-recursion':
    'function execute(input) { function f(n) { return f(n + 1) + 1; } return { result: f(0) }; }',
  throws: 'function execute(input) { throw new Error("boom from the program"); }',
  'escape-process': 'function execute(input) { return { result: String(process.pid) }; }',
  'escape-require': 'function execute(input) { return { result: String(require("fs").readdirSync("/")) }; }',
  'escape-constructor':
    'function execute(input) { var p = globalThis.constructor.constructor("return process")(); return { result: String(p.pid) }; }',
};

// The escapes are only dangerous when the call works; the self-check at load would refuse these programs,
// so they are made to behave on the self-check input ('x') and misbehave on real inputs.
const guarded = (code: string) =>
  `${code.replace('function execute(', 'function hostile(')}\nfunction execute(input) { return input.text === 'x' ? { result: 'ham' } : hostile(input); }`;

describe('hostile programs fail their own call within the deadline; other apps keep answering', () => {
  let server: RunningServer;

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'good-app');
    for (const [name, code] of Object.entries(HOSTILE)) {
      writeApp(dataDir, `bad-${name}`, {
        config: spamConfig(`bad-${name}`, { execution: { timeout_ms: 200, memory_mb: 16 } }),
        versions: [{ 'program.js': guarded(code) }],
      });
    }
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  const good = async () => {
    const res = await call(server.url, 'POST', '/loop-apps/good-app/execute', {
      input: { text: 'free prize' },
    });
    expect(res.status).toBe(200);
    expect(res.body.output).toBe('spam');
  };

  test.each(Object.keys(HOSTILE))('%s', async (name) => {
    await good();
    const started = Date.now();
    const res = await call(server.url, 'POST', `/loop-apps/bad-${name}/execute`, {
      input: { text: 'attack' },
    });
    const took = Date.now() - started;
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.body.error.message).toMatch(/v1/);
    expect(res.body.output).toBeUndefined();
    expect(took).toBeLessThan(15_000);
    await good();
    // and the hostile app itself answers its harmless input again
    const again = await call(server.url, 'POST', `/loop-apps/bad-${name}/execute`, { input: { text: 'x' } });
    expect(again.body.output).toBe('ham');
  });

  test('the timeout and memory errors say what happened', async () => {
    const loop = await call(server.url, 'POST', '/loop-apps/bad-loop-forever/execute', {
      input: { text: 'go' },
    });
    expect(loop.status).toBe(504);
    expect(loop.body.error.code).toBe('program_timeout');
    const bomb = await call(server.url, 'POST', '/loop-apps/bad-map-bomb/execute', { input: { text: 'go' } });
    expect(bomb.body.error.code).toMatch(/program_(memory|sandbox_crash|timeout)/);
  });
});
