import { Writable } from 'node:stream';
import winston from 'winston';
import { ApiError } from '../../src/domain/errors';
import { silentLogger } from '../../src/logger';
import { Executor } from '../../src/runtime/executor';
import { Registry } from '../../src/runtime/registry';
import { SandboxPool, type CallOutcome, type ProgramSource } from '../../src/runtime/sandbox/pool';
import { AppStore } from '../../src/store/app-store';
import { ExecutionLog } from '../../src/telemetry/execution-log';
import { Metrics } from '../../src/telemetry/metrics';
import { SampleInputs, Sampler } from '../../src/telemetry/sampler';
import { tmpDataDir, writeApp } from '../helpers/apps';
import {
  ESCAPES,
  TAMPERING,
  matches,
  residentMb,
  watchRss,
  type Expected,
} from '../helpers/hostile-programs';
import { eventually } from '../helpers/server';

const program = (key: string, code: string, extra: Partial<ProgramSource> = {}): ProgramSource => ({
  key,
  code,
  files: {},
  timeoutMs: 300,
  memoryMb: 16,
  ...extra,
});
const ok = (result: unknown): CallOutcome => ({ ok: true, answer: { result } });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const echo = 'function execute(input) { return { result: input }; }';

/** Passes when the outcome matches; else fails showing the outcome itself. */
const expectOutcome = (outcome: CallOutcome, expected: Expected) =>
  expect(matches(outcome, expected) ? expected : outcome).toEqual(expected);

/** Milliseconds a promise took to settle, with its value. */
async function timed<T>(promise: Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const value = await promise;
  return [value, Date.now() - started];
}

// One child for everything, so every hostile program shares its process with the neighbour that must keep
// answering
const pool = new SandboxPool({ size: 1, childHeapMb: 256 });
const NEIGHBOUR = 'neighbour-app@v1';
beforeAll(() => pool.load(program(NEIGHBOUR, echo)));
afterAll(() => pool.close());
const childPid = () => pool.childPids()[0];

describe('memory outside the isolate heap', () => {
  test('WebAssembly, SharedArrayBuffer and Atomics are gone and cannot be recovered', async () => {
    const code = `function execute() {
      var names = ['WebAssembly', 'SharedArrayBuffer', 'Atomics'], g = Function('return this')();
      return { result: names.map(function (n) {
        var seen = [typeof g[n], Object.getOwnPropertyNames(globalThis).indexOf(n) >= 0];
        try { seen.push(typeof eval(n)); } catch (e) { seen.push(e.name); }
        seen.push(Object.getPrototypeOf(new Uint8Array(1).buffer) === ArrayBuffer.prototype);
        return seen.join(' ');
      }) };
    }`;
    await pool.load(program('no-wasm-app@v1', code));
    const gone = 'undefined false ReferenceError true';
    expect(await pool.run('no-wasm-app@v1', null)).toEqual(ok([gone, gone, gone]));
  });

  test("the review's WebAssembly.Memory kept in globalThis fails its calls; the child stays small", async () => {
    const code = `function execute() {
      globalThis.m = new WebAssembly.Memory({ initial: 1, maximum: 16384 });
      m.grow(8191);
      new Uint8Array(m.buffer).fill(1);
      return { result: m.buffer.byteLength };
    }`;
    await pool.load(program('wasm-app@v1', code, { timeoutMs: 5000 }));
    const before = residentMb(childPid());
    for (let i = 0; i < 3; i++) {
      expect(await pool.run('wasm-app@v1', i)).toMatchObject({
        ok: false,
        error: { code: 'program_error', message: /WebAssembly is not defined/ },
      });
    }
    expect(residentMb(childPid()) - before).toBeLessThan(100); // 512 MB a call before the fix
  });

  test('ArrayBuffers and typed arrays count against the isolate heap limit, also when kept', async () => {
    const code = `var kept = [];
      function execute(input) {
        if (input === 'huge') return { result: new ArrayBuffer(1e9).byteLength };
        kept.push(new Uint8Array(4e6).fill(1));
        return { result: kept.length };
      }`;
    await pool.load(program('buffers-app@v1', code));
    const before = residentMb(childPid());
    expect(await pool.run('buffers-app@v1', 'huge')).toMatchObject({
      ok: false,
      error: { code: 'program_error', message: /Array buffer allocation failed/ },
    });
    const outcomes = await pool.runBatch('buffers-app@v1', range(20));
    expect(outcomes.slice(0, 2)).toEqual([ok(1), ok(2)]); // 16 MB hold 8 MB of arrays, not 80
    expect(outcomes.slice(4).every((o) => !o.ok && /allocation failed/.test(o.error.message))).toBe(true);
    expect(residentMb(childPid()) - before).toBeLessThan(50);
  });

  test('a child over its resident memory budget is killed: its call fails `memory`, others answer', async () => {
    const restarts: string[] = [];
    const watched = new SandboxPool({ size: 2, childRssMb: 160, onRestart: (_i, why) => restarts.push(why) });
    try {
      // 150 MB of arrays fit the 256 MB heap of the isolate, not the child's 160 MB budget
      const code = `var kept = null;
        function execute(input) {
          if (input === 'x') return { result: kept ? 'kept' : 'fresh' };
          kept = new Uint8Array(150e6).fill(1);
          if (input === 'hold') { var end = Date.now() + 5000; while (Date.now() < end) {} }
          return { result: 'allocated' };
        }`;
      const hog = program('hog-app@v1', code, { timeoutMs: 8000, memoryMb: 256 });
      const calm = ['calm-a@v1', 'calm-b@v1', 'calm-c@v1'].find(
        (k) => watched.childIndex(k) !== watched.childIndex(hog.key),
      ) as string;
      await watched.load(hog);
      await watched.load(program(calm, echo));
      const holding = timed(watched.run(hog.key, 'hold'));
      await sleep(100);
      expect(await watched.run(calm, 1)).toEqual(ok(1)); // while the hog runs
      const [outcome, ms] = await holding;
      expect(outcome).toMatchObject({
        ok: false,
        error: { code: 'memory', message: /over the budget of 160 MB \(sandbox\.child_rss_mb\)/ },
      });
      expect(ms).toBeLessThan(4000); // killed while running, not after its 5 s
      expect(restarts).toEqual([expect.stringMatching(/^used \d+ MB of memory, over the budget of 160 MB/)]);
      expect(await watched.run(hog.key, 'x')).toEqual(ok('fresh')); // reloaded in a fresh child
      // memory kept between calls is found too, with no call running
      expect(['allocated', 'memory']).toContain(
        ((o) => (o.ok ? o.answer.result : o.error.code))(await watched.run(hog.key, 'keep')),
      );
      await eventually(() => expect(restarts).toHaveLength(2));
      expect(await watched.run(hog.key, 'x')).toEqual(ok('fresh'));
      expect(await watched.run(calm, 2)).toEqual(ok(2));
    } finally {
      await watched.close();
    }
  });
});

describe('noisy neighbours on one child', () => {
  test('a batch of 200 runaway inputs is cut short, and another app answers meanwhile', async () => {
    const code = "function execute(input) { if (input === 'x') return { result: 'fine' }; while (true) {} }";
    await pool.load(program('runaway-app@v1', code, { timeoutMs: 200 }));
    const batch = timed(pool.runBatch('runaway-app@v1', range(200)));
    await sleep(50); // the batch is running
    const [answer, waited] = await timed(pool.run(NEIGHBOUR, 'b'));
    expect(answer).toEqual(ok('b'));
    expect(waited).toBeLessThan(1500); // 40 s before the fix
    const [outcomes, total] = await batch;
    expect(outcomes.every((o) => !o.ok && o.error.code === 'timeout')).toBe(true);
    const cut = outcomes.filter((o) => !o.ok && /^not run: the batch was cut short/.test(o.error.message));
    expect(cut).toHaveLength(198);
    expect(total).toBeLessThan(5000);
    // the app itself still answers inputs that do not loop
    expect(await pool.run('runaway-app@v1', 'x')).toEqual(ok('fine'));
  }, 60_000);

  test('a long legitimate batch takes turns with other apps', async () => {
    const slow =
      'function execute(input) { var end = Date.now() + 50; while (Date.now() < end) {} return { result: input }; }';
    await pool.load(program('slow-app@v1', slow, { timeoutMs: 300 }));
    const batch = pool.runBatch('slow-app@v1', range(60)); // 3 s of work
    await sleep(50);
    const [answer, waited] = await timed(pool.run(NEIGHBOUR, 'b'));
    expect(answer).toEqual(ok('b'));
    expect(waited).toBeLessThan(1500);
    expect(await batch).toEqual(range(60).map(ok));
  });
});

describe('result size', () => {
  test('a 100 MB answer fails result_too_large, and the child does not grow by what it would copy', async () => {
    await pool.load(
      program('big-app@v1', 'function execute() { return { result: "x".repeat(1e8) }; }', {
        timeoutMs: 5000,
        memoryMb: 512,
      }),
    );
    const before = residentMb(childPid());
    const rss = watchRss(childPid());
    const [outcome, ms] = await timed(pool.run('big-app@v1', null));
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        code: 'result_too_large',
        message:
          /at least 100000013 bytes of JSON, over the limit of 65536 bytes \(execution\.max_result_bytes\)/,
      },
    });
    expect(ms).toBeLessThan(5000);
    // the program's string and its JSON (200 MB, within its heap); the answer used to be copied four more times
    expect(rss.stop() - before).toBeLessThan(400); // 705 MB before the fix
    expect(await pool.run(NEIGHBOUR, 1)).toEqual(ok(1));
  });

  test('the limit is per app and counts UTF-8 bytes of the answer', async () => {
    const code = 'function execute(input) { return { result: input.c.repeat(input.n) }; }';
    await pool.load(program('sized-app@v1', code, { maxResultBytes: 1000 }));
    // {"result":"…"} is 13 bytes around the string; é is 2 bytes
    const outcomes = await pool.runBatch('sized-app@v1', [
      { c: 'a', n: 987 },
      { c: 'a', n: 988 },
      { c: '\u00e9', n: 493 },
      { c: '\u00e9', n: 494 },
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'result_too_large',
      'ok',
      'result_too_large',
    ]);
    expect(outcomes[3]).toMatchObject({ error: { message: /at least 1001 bytes .* limit of 1000 bytes/ } });
  });
});

describe('the executor', () => {
  const lines: string[] = [];
  const logger = winston.createLogger({
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          write: (chunk, _encoding, done) => {
            lines.push(String(chunk));
            done();
          },
        }),
      }),
    ],
  });
  const appPool = new SandboxPool({ size: 1, childHeapMb: 256 });
  const store = new AppStore(tmpDataDir());
  const registry = new Registry(store, appPool, silentLogger(), { idleUnloadMs: 60_000, retryDelayMs: 1000 });
  const log = new ExecutionLog(store.layout, 200, () => undefined);
  const executor = new Executor(registry, {
    log,
    sampler: new Sampler(),
    sampleInputs: new SampleInputs(),
    metrics: new Metrics(),
    logger,
  });
  beforeAll(async () => {
    const code = "function execute(input) { return { result: input.long ? 'x'.repeat(2000) : 'ok' }; }";
    const app = (id: string, execution: object) => {
      const config = {
        loop_app_id: id,
        task: 'Answer ok, or a long text when asked',
        input_schema: { type: 'object' },
        output_schema: { type: 'string' },
        privacy: { store_inputs: 'full', redact: ['email'] },
        execution,
      };
      writeApp(store.layout.dataDir, id, { config, versions: [{ 'program.js': code }] });
    };
    app('deep-app', { timeout_ms: 200 });
    app('sized-app', { timeout_ms: 200, max_result_bytes: 1024 });
    await registry.loadAll();
  });
  afterAll(async () => {
    await registry.close();
    await log.flush();
    await appPool.close();
  });

  test('an item nested 5,000 deep gets its own internal_error, logged; the other items answer', async () => {
    let deep: unknown = 'a@b.example';
    for (let i = 0; i < 5000; i++) deep = { x: deep };
    const results = await executor.executeBatch('deep-app', [{ n: 1 }, deep, { n: 2 }]);
    expect(results.map((r) => ('error' in r ? r.error.code : r.output))).toEqual([
      'ok',
      'internal_error',
      'ok',
    ]);
    expect(lines.some((l) => /batch item failed/.test(l) && /call stack/.test(l))).toBe(true);
  });

  test('an answer over execution.max_result_bytes is a 502 result_too_large naming the limit', async () => {
    const failure = await executor.execute('sized-app', { long: true }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({
      status: 502,
      code: 'result_too_large',
      message: /1024 bytes \(execution\.max_result_bytes\)/,
    });
    const [item] = await executor.executeBatch('sized-app', [{ long: true }]);
    expect(item).toEqual({ error: expect.objectContaining({ code: 'result_too_large' }) });
  });
});

describe('program state', () => {
  test("an override lasts for its own program's calls, and no other app on the child sees it", async () => {
    const tamper = `function execute(input) {
      if (input === 'tamper') { Array.prototype.join = function () { return 'hacked'; }; JSON.stringify = null; }
      return { result: [1, 2].join('-') };
    }`;
    const plain = "function execute() { return { result: [1, 2].join('-') + JSON.stringify({ a: 1 }) }; }";
    await pool.load(program('tamper-app@v1', tamper));
    await pool.load(program('plain-app@v1', plain));
    expect(await pool.run('tamper-app@v1', 'tamper')).toEqual(ok('hacked'));
    expect(await pool.run('tamper-app@v1', 'again')).toEqual(ok('hacked')); // the version's own state
    expect(await pool.run('plain-app@v1', null)).toEqual(ok('1-2{"a":1}'));
    await pool.unload('tamper-app@v1');
    await pool.load(program('tamper-app@v1', tamper));
    expect(await pool.run('tamper-app@v1', 'again')).toEqual(ok('1-2')); // a reload starts afresh
  });

  test.each(TAMPERING)(
    'overriding %s cannot make the host accept a bad answer',
    async (name, body, expected) => {
      const key = `tampering-${TAMPERING.findIndex(([n]) => n === name)}@v1`;
      const pid = childPid();
      await pool.load(program(key, `function execute(input) { ${body} }`));
      const [first, neighbour] = await Promise.all([pool.run(key, 1), pool.run(NEIGHBOUR, 1)]);
      const second = await pool.run(key, 2); // runs with the overrides of the first in place
      expect(neighbour).toEqual(ok(1));
      for (const outcome of [first, second]) expectOutcome(outcome, expected);
      expect(childPid()).toBe(pid);
    },
  );
});

describe('escape and crash attempts fail their own call, within its deadline; the neighbour keeps answering', () => {
  test.each(ESCAPES)('%s', async (name, body, expected) => {
    const key = `escape-${ESCAPES.findIndex(([n]) => n === name)}@v1`;
    await pool.load(
      program(key, `function execute(input) { if (input === 'x') return { result: 'fine' }; ${body} }`),
    );
    const started = Date.now();
    const [outcome, neighbour] = await Promise.all([pool.run(key, 1), pool.run(NEIGHBOUR, 2)]);
    expectOutcome(outcome, expected);
    expect(neighbour).toEqual(ok(2));
    expect(Date.now() - started).toBeLessThan(300 + 2000); // its timeout and the deadline's slack
    expect(await pool.run(key, 'x')).toEqual(ok('fine'));
    expect(await pool.run(NEIGHBOUR, 3)).toEqual(ok(3));
  });
});
