import { SandboxPool, SandboxError, type ProgramSource } from '../src/runtime/sandbox/pool';

const program = (key: string, code: string, extra: Partial<ProgramSource> = {}): ProgramSource => ({
  key,
  code,
  files: {},
  timeoutMs: 100,
  memoryMb: 16,
  ...extra,
});

describe('sandbox pool (real child processes, real isolates)', () => {
  const pool = new SandboxPool({ size: 2, childHeapMb: 256 });
  afterAll(() => pool.close());

  test('a program answers, reads its files, and batches keep their order', async () => {
    await pool.load(
      program(
        'files-app@v1',
        'function execute(input) { var w = JSON.parse(loopai.files["w.json"]); return { result: input.n * w.k, confidence: 0.5 }; }',
        {
          files: { 'w.json': '{"k": 3}' },
        },
      ),
    );
    expect(await pool.run('files-app@v1', { n: 2 })).toEqual({
      ok: true,
      answer: { result: 6, confidence: 0.5 },
    });
    const outcomes = await pool.runBatch(
      'files-app@v1',
      Array.from({ length: 1000 }, (_, n) => ({ n })),
    );
    expect(outcomes.map((o) => (o.ok ? o.answer.result : null))).toEqual(
      Array.from({ length: 1000 }, (_, n) => n * 3),
    );
  });

  test('files are read-only', async () => {
    await pool.load(
      program(
        'ro-app@v1',
        'function execute(input) { loopai.files.x = 1; return { result: String(loopai.files.x) }; }',
      ),
    );
    expect(await pool.run('ro-app@v1', {})).toEqual({ ok: true, answer: { result: 'undefined' } });
  });

  test('compile errors, a missing execute and a failing self-check are refused at load', async () => {
    await expect(pool.load(program('bad-app@v1', 'function execute(input) { return {'))).rejects.toThrow(
      SandboxError,
    );
    await expect(pool.load(program('bad-app@v2', 'var x = 1;'))).rejects.toThrow(/execute/);
    await expect(
      pool.load(program('bad-app@v3', 'function execute(input) { return { result: input.a.b }; }'), {}),
    ).rejects.toThrow(/self-check/);
    expect(pool.isLoaded('bad-app@v3')).toBe(false);
  });

  test('bad answers are errors, not answers', async () => {
    await pool.load(
      program(
        'answer-app@v1',
        'function execute(input) { return input.kind === 1 ? 42 : { result: 1, confidence: 7 }; }',
      ),
    );
    expect(await pool.run('answer-app@v1', { kind: 1 })).toMatchObject({
      ok: false,
      error: { code: 'bad_answer' },
    });
    expect(await pool.run('answer-app@v1', { kind: 2 })).toMatchObject({
      ok: false,
      error: { code: 'bad_answer', message: /confidence/ },
    });
  });

  test('a child killed from outside: calls in flight fail, the next call works after an automatic reload', async () => {
    await pool.load(
      program(
        'victim-app@v1',
        'function execute(input) { var t = 0; for (var i = 0; i < 2e6; i++) t += i; return { result: input.n }; }',
        { timeoutMs: 2000 },
      ),
    );
    expect((await pool.run('victim-app@v1', { n: 1 })).ok).toBe(true);
    const before = pool.stats().restarts;
    const inFlight = pool.runBatch(
      'victim-app@v1',
      Array.from({ length: 200 }, (_, n) => ({ n })),
    );
    await new Promise((r) => setTimeout(r, 30));
    for (const pid of pool.childPids()) process.kill(pid, 'SIGKILL');
    const outcomes = await inFlight;
    expect(outcomes.some((o) => !o.ok && o.error.code === 'sandbox_crash')).toBe(true);
    expect(pool.stats().restarts).toBeGreaterThan(before);
    expect(await pool.run('victim-app@v1', { n: 7 })).toEqual({ ok: true, answer: { result: 7 } });
    expect(await pool.run('files-app@v1', { n: 1 })).toEqual({
      ok: true,
      answer: { result: 3, confidence: 0.5 },
    });
  });

  test('a batch with one runaway input: only that call fails, the rest answer', async () => {
    await pool.load(
      program(
        'mixed-app@v1',
        'function execute(input) { if (input.n === 3) { while (true) {} } if (input.n === 5) throw new Error("five"); return { result: input.n }; }',
      ),
    );
    const outcomes = await pool.runBatch(
      'mixed-app@v1',
      Array.from({ length: 8 }, (_, n) => ({ n })),
    );
    expect(outcomes[3]).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(outcomes[5]).toMatchObject({ ok: false, error: { code: 'program_error', message: 'five' } });
    expect(outcomes.filter((o) => o.ok).map((o) => (o.ok ? o.answer.result : null))).toEqual([
      0, 1, 2, 4, 6, 7,
    ]);
  });

  test('a long legitimate batch does not make the next message on the same child look hung', async () => {
    const single = new SandboxPool({ size: 1, childHeapMb: 256 });
    try {
      const slow =
        'function execute(input) { var end = Date.now() + 500; while (Date.now() < end) {} return { result: input.n }; }';
      await single.load(program('slow-app@v1', slow, { timeoutMs: 1000 }));
      await single.load(
        program('quick-app@v1', 'function execute(input) { return { result: "quick" }; }', { timeoutMs: 20 }),
      );
      const batch = single.runBatch(
        'slow-app@v1',
        Array.from({ length: 6 }, (_, n) => ({ n })),
      ); // ~3 s of work
      await new Promise((r) => setImmediate(r));
      const quick = single.run('quick-app@v1', {});
      expect((await batch).every((o) => o.ok)).toBe(true);
      expect(await quick).toEqual({ ok: true, answer: { result: 'quick' } });
      expect(single.stats().restarts).toBe(0);
    } finally {
      await single.close();
    }
  });

  test('unknown programs are not_loaded', async () => {
    expect(await pool.run('nobody@v1', {})).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
  });
});
