import { SandboxPool, SandboxError, type CallOutcome, type ProgramSource } from '../src/runtime/sandbox/pool';

const program = (key: string, code: string, extra: Partial<ProgramSource> = {}): ProgramSource => ({
  key,
  code,
  files: {},
  timeoutMs: 100,
  memoryMb: 16,
  ...extra,
});

const results = (outcomes: CallOutcome[]) => outcomes.map((o) => (o.ok ? o.answer.result : o.error.code));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while a process with this pid exists. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('sandbox pool (real child processes, real isolates)', () => {
  const restarts: string[] = [];
  const pool = new SandboxPool({ size: 2, childHeapMb: 256, onRestart: (_i, why) => restarts.push(why) });
  afterAll(() => pool.close());

  test('children start on first use', async () => {
    const idle = new SandboxPool({ size: 2 });
    expect(idle.stats()).toEqual({ children: 0, restarts: 0, loaded: 0 });
    expect(await idle.run('nobody@v1', {})).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
    expect(idle.childPids()).toEqual([]);
    await idle.close();
  });

  test('a program answers, reads its files, and a batch of 1000 keeps its order', async () => {
    const code = `function execute(input) {
      var w = JSON.parse(loopai.files['w.json']);
      return { result: input.n * w.k, confidence: 0.5, reason: 'times ' + w.k };
    }`;
    await pool.load(program('files-app@v1', code, { files: { 'w.json': '{"k": 3}' } }));
    expect(pool.isLoaded('files-app@v1')).toBe(true);
    expect(await pool.run('files-app@v1', { n: 2 })).toEqual({
      ok: true,
      answer: { result: 6, confidence: 0.5, reason: 'times 3' },
    });
    const outcomes = await pool.runBatch(
      'files-app@v1',
      range(1000).map((n) => ({ n })),
    );
    expect(results(outcomes)).toEqual(range(1000).map((n) => n * 3));
  });

  test('loopai is read-only, and `const execute` counts as defining execute', async () => {
    const code = `const execute = (input) => {
      loopai.files.x = 1;
      try { loopai = null; } catch (e) {}
      return { result: [String(loopai.files.x), Object.isFrozen(loopai), Object.keys(loopai.shared).length] };
    };`;
    await pool.load(program('ro-app@v1', code));
    expect(await pool.run('ro-app@v1', {})).toEqual({ ok: true, answer: { result: ['undefined', true, 0] } });
  });

  test('answers are checked: an object with a JSON result, confidence in [0, 1], reason a string', async () => {
    const code = `function execute(input) {
      switch (input) {
        case 0: return 42;
        case 1: return { confidence: 0.5 };
        case 2: return { result: 1, confidence: 7 };
        case 3: return { result: 1, confidence: NaN };
        case 4: return { result: 1, confidence: 'high' };
        case 5: return { result: 1, reason: 5 };
        case 6: return { result: function () {} };
        case 7: return null;
        default: return { result: 'fine', confidence: 1, extra: 'dropped' };
      }
    }`;
    await pool.load(program('answer-app@v1', code));
    const outcomes = await pool.runBatch('answer-app@v1', range(9));
    expect(results(outcomes)).toEqual([...Array(8).fill('bad_answer'), 'fine']);
    expect(outcomes[2]).toMatchObject({ error: { message: /confidence/ } });
    expect(outcomes[8]).toEqual({ ok: true, answer: { result: 'fine', confidence: 1 } });
  });

  test('compile errors, a missing execute and a failing self-check are refused at load', async () => {
    const load = (key: string, code: string, check?: unknown) => pool.load(program(key, code), check);
    await expect(load('bad-app@v1', 'function execute(input) { return {')).rejects.toThrow(SandboxError);
    await expect(load('bad-app@v2', 'var x = 1;')).rejects.toThrow(/execute/);
    await expect(
      load('bad-app@v3', 'function execute(input) { return { result: input.a.b }; }', {}),
    ).rejects.toThrow(/self-check/);
    await expect(load('bad-app@v4', 'function execute(input) { return { nope: 1 }; }', {})).rejects.toThrow(
      /self-check.*bad_answer/,
    );
    await expect(load('bad-app@v5', 'function execute(input) { while (true) {} }', {})).rejects.toThrow(
      /self-check.*timeout/,
    );
    await expect(load('bad-app@v6', 'while (true) {}\nfunction execute(input) {}')).rejects.toThrow(
      /timed out/,
    );
    for (const v of [1, 2, 3, 4, 5, 6]) expect(pool.isLoaded(`bad-app@v${v}`)).toBe(false);
    expect(await pool.run('bad-app@v3', {})).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
    // a program that passes its self-check serves
    await load('bad-app@v7', 'function execute(input) { return { result: input.a }; }', { a: 1 });
    expect(await pool.run('bad-app@v7', { a: 'ok' })).toEqual({ ok: true, answer: { result: 'ok' } });
  });

  test('load is idempotent per key; unload disposes; unknown keys are not_loaded', async () => {
    const p = program(
      'twice-app@v1',
      'var calls = 0; function execute(input) { return { result: ++calls }; }',
    );
    await pool.load(p);
    expect(await pool.run(p.key, null)).toEqual({ ok: true, answer: { result: 1 } });
    await pool.load(p);
    await pool.load(p, null); // runs the self-check on the program already there
    expect(await pool.run(p.key, null)).toEqual({ ok: true, answer: { result: 3 } });
    await pool.unload(p.key);
    expect(pool.isLoaded(p.key)).toBe(false);
    expect(await pool.run(p.key, null)).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
    await pool.load(p);
    expect(await pool.run(p.key, null)).toEqual({ ok: true, answer: { result: 1 } });
    // an unload that overtakes a load in flight wins
    const loading = pool.load(program('race-app@v1', 'function execute() { return { result: 1 }; }'));
    await pool.unload('race-app@v1');
    await loading;
    expect(pool.isLoaded('race-app@v1')).toBe(false);
    expect(await pool.run('nobody@v1', {})).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
  });

  describe('hostile programs fail only their own call; apps in the same and the other child keep answering', () => {
    // Each is harmless on the input 'x' (so the app can be seen to recover) and hostile on anything else.
    const HOSTILE: Array<[string, string, string[]]> = [
      ['loop-forever', 'while (true) {}', ['timeout']],
      ['map-bomb', 'var m = new Map(); for (var i = 0; ; i++) m.set("k" + i, { i: i });', ['memory']],
      ['set-bomb', 'var s = new Set(); for (var i = 0; ; i++) s.add("k" + i);', ['memory']],
      ['dict-bomb', 'var d = {}; for (var i = 0; ; i++) d["k" + i] = [i];', ['memory']],
      ['array-growth', 'var a = []; for (var i = 0; ; i++) a.push({ i: i });', ['memory']],
      ['huge-array', 'return { result: new Array(1e9).fill(0).length };', ['memory', 'program_error']],
      ['huge-string', 'return { result: "x".repeat(1e9).length };', ['memory', 'program_error']],
      [
        'deep-recursion',
        'function f(n) { return f(n + 1) + 1; } return { result: f(0) };',
        ['program_error'],
      ],
      ['throws', 'throw new Error("x");', ['program_error']],
      ['escape-process', 'return { result: process.pid };', ['program_error']],
      ['escape-require', 'return { result: require("fs").readdirSync("/") };', ['program_error']],
      [
        'escape-constructor',
        'var p = globalThis.constructor.constructor("return process")(); return { result: p.pid };',
        ['program_error'],
      ],
    ];
    const hostileKey = (name: string) => `hostile-${name}@v1`;

    /** App ids living in the same child as `key` and in the other one, found by the pool's own hash. */
    const neighbours = (key: string) => {
      const mine = pool.childIndex(key);
      const names = range(100).map((i) => `neighbour-${i}@v1`);
      return {
        same: names.find((n) => pool.childIndex(n) === mine) as string,
        other: names.find((n) => pool.childIndex(n) !== mine) as string,
      };
    };
    const echo = 'function execute(input) { return { result: input.n + 1 }; }';

    beforeAll(async () => {
      for (const [name, body] of HOSTILE) {
        const code = `function execute(input) { if (input.n === 'x') return { result: 'fine' }; ${body} }`;
        await pool.load(program(hostileKey(name), code, { timeoutMs: 1000 }));
        const { same, other } = neighbours(hostileKey(name));
        await pool.load(program(same, echo));
        await pool.load(program(other, echo));
      }
    });

    test.each(HOSTILE)('%s', async (name, _body, codes) => {
      const key = hostileKey(name);
      const { same, other } = neighbours(key);
      const started = Date.now();
      // sent in the same tick as calls of both neighbours, which travel in the same or the other child
      const [bad, ...good] = await Promise.all([
        pool.run(key, { n: 1 }),
        pool.run(same, { n: 1 }),
        pool.run(other, { n: 2 }),
        pool.run(same, { n: 3 }),
      ]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(codes).toContain(bad.error.code);
      expect(good).toEqual([2, 3, 4].map((result) => ({ ok: true, answer: { result } })));
      // the hostile app itself answers its harmless input, and the neighbours answer afterwards too
      expect(await pool.run(key, { n: 'x' })).toEqual({ ok: true, answer: { result: 'fine' } });
      expect(results(await pool.runBatch(same, [{ n: 5 }, { n: 6 }]))).toEqual([6, 7]);
      expect(await pool.run(other, { n: 7 })).toEqual({ ok: true, answer: { result: 8 } });
    });

    test('isolates and processes that died of memory were replaced', () => {
      expect(pool.stats().restarts).toBeGreaterThan(0); // the Map/Set/dictionary bombs abort their child
      expect(restarts.some((why) => /SIGABRT/.test(why))).toBe(true);
    });
  });

  test('a batch with a runaway input and a memory hog: only those calls fail, the rest answer', async () => {
    const code = `function execute(input) {
      if (input === 150) { while (true) {} }
      if (input === 160) { var a = []; for (;;) a.push(new Array(1e4).fill(a.length)); }
      if (input === 170) throw new Error('seventy');
      return { result: input };
    }`;
    await pool.load(program('mixed-app@v1', code, { timeoutMs: 500 }));
    const started = Date.now();
    const outcomes = await pool.runBatch('mixed-app@v1', range(300));
    // each call has its own budget: a runaway costs about one timeout, not the whole batch's (300 × 500 ms)
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(results(outcomes)).toEqual(
      range(300).map((n) => ({ 150: 'timeout', 160: 'memory', 170: 'program_error' })[n] ?? n),
    );
    expect(outcomes[170]).toMatchObject({ error: { message: 'seventy' } });
    expect(await pool.run('mixed-app@v1', 1)).toEqual({ ok: true, answer: { result: 1 } });
  });

  test('a child killed from outside: calls in flight fail, the next call works after an automatic reload', async () => {
    const slow =
      'function execute(input) { var t = 0; for (var i = 0; i < 2e6; i++) t += i; return { result: input }; }';
    await pool.load(program('victim-app@v1', slow, { timeoutMs: 2000 }));
    expect(await pool.run('victim-app@v1', 1)).toEqual({ ok: true, answer: { result: 1 } });
    const before = pool.stats().restarts;
    const inFlight = pool.runBatch('victim-app@v1', range(200));
    await sleep(30);
    const pids = pool.childPids();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const outcomes = await inFlight;
    expect(outcomes.some((o) => !o.ok && o.error.code === 'sandbox_crash')).toBe(true);
    expect(pool.stats().restarts).toBeGreaterThan(before);
    // every program the children held is back, without anyone loading it again
    expect(await pool.run('victim-app@v1', 7)).toEqual({ ok: true, answer: { result: 7 } });
    expect(await pool.run('files-app@v1', { n: 1 })).toMatchObject({ ok: true, answer: { result: 3 } });
    expect(pool.childPids().some((pid) => pids.includes(pid))).toBe(false);
  });

  test('a long legitimate batch does not make the next message on the same child look hung', async () => {
    const single = new SandboxPool({ size: 1, childHeapMb: 256 });
    try {
      const slow =
        'function execute(input) { var end = Date.now() + 400; while (Date.now() < end) {} return { result: input }; }';
      await single.load(program('slow-app@v1', slow, { timeoutMs: 1000 }));
      await single.load(
        program('quick-app@v1', 'function execute() { return { result: "quick" }; }', { timeoutMs: 20 }),
      );
      const batch = single.runBatch('slow-app@v1', range(6)); // ~2.4 s of work, far past quick-app's 20 ms
      await new Promise((r) => setImmediate(r));
      const quick = single.run('quick-app@v1', {});
      expect(results(await batch)).toEqual(range(6));
      expect(await quick).toEqual({ ok: true, answer: { result: 'quick' } });
      expect(single.stats().restarts).toBe(0);
    } finally {
      await single.close();
    }
  });

  test('close() answers pending calls with sandbox_crash and leaves no process behind', async () => {
    const doomed = new SandboxPool({ size: 2, childHeapMb: 256 });
    await doomed.load(program('a-app@v1', 'function execute() { while (true) {} }', { timeoutMs: 5000 }));
    await doomed.load(program('b-app@v1', 'function execute(input) { return { result: input }; }'));
    const pids = doomed.childPids();
    expect(pids.length).toBeGreaterThan(0);
    const running = doomed.run('a-app@v1', 1);
    await sleep(50);
    const queued = doomed.run('b-app@v1', 2); // not yet sent when close() starts
    await doomed.close();
    expect(await running).toMatchObject({ ok: false, error: { code: 'sandbox_crash' } });
    expect(await queued).toMatchObject({ ok: false, error: { code: 'sandbox_crash' } });
    expect(await doomed.run('b-app@v1', 3)).toMatchObject({ ok: false, error: { code: 'sandbox_crash' } });
    await expect(doomed.load(program('c-app@v1', 'function execute() {}'))).rejects.toThrow(/closed/);
    expect(pids.filter(alive)).toEqual([]);
    expect(doomed.childPids()).toEqual([]);
  });
});
