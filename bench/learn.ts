/**
 * `npm run bench:learn`: the offline learner on every `*.train.jsonl` / `*.test.jsonl` pair in LOOPAI_DATASETS
 * (default ../shared/datasets) and on synthetic intent sets (150 classes; with LOOPAI_BENCH_LARGE=1, the
 * default, also 100k rows and 200 classes), beside scikit-learn's linear models run in the same run.
 * - product path: an app created through the HTTP API from the train split; its served version (trained on
 *   every train row) is scored on the test split in the sandbox; its own reported estimate and interval beside
 * - learner alone: learn() on the train split, scored on the test split in the sandbox; its training time,
 *   rows/s, program size, µs a call (in this realm and in the sandbox, batched), expected calibration error
 * - few-shot: 5 and 20 examples per class of the real sets
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/logger';
import { SandboxPool } from '../src/runtime/sandbox/pool';
import { startServer, type RunningServer } from '../src/server';
import { evaluateInSandbox } from '../src/synthesis/evaluate';
import type { Labelled } from '../src/synthesis/generator';
import { learn, loadModel } from '../src/synthesis/learner';
import { describeScore } from '../src/synthesis/synthesizer';
import { dataSets, perClass, sklearn, type DataSet, type SklearnRow } from './datasets';

const INPUT_SCHEMA = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
const LIMITS = { timeoutMs: 1000, memoryMb: 128, maxResultBytes: 65536 };
const LARGE = process.env.LOOPAI_BENCH_LARGE !== '0';
const BINS = 10;

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const outputSchema = (set: DataSet) => ({
  type: 'string',
  enum: [...new Set(set.train.map((r) => r.output as string))].sort(),
});

/** µs per call of a loaded program in the sandbox, in batches of 100, after a warm-up pass. */
async function sandboxMicros(pool: SandboxPool, files: Record<string, string>, rows: Labelled[]) {
  const { ['program.js']: code, ...rest } = files;
  const key = `bench@timing@${Date.now()}`;
  await pool.load({ key, code, files: rest, ...LIMITS });
  const inputs = rows.slice(0, 5000).map((r) => r.input);
  const pass = async () => {
    for (let i = 0; i < inputs.length; i += 100) await pool.runBatch(key, inputs.slice(i, i + 100));
  };
  await pass();
  const started = process.hrtime.bigint();
  await pass();
  await pass();
  const us = Number(process.hrtime.bigint() - started) / 1e3 / inputs.length / 2;
  await pool.unload(key);
  return us;
}

/** µs per call in this realm (the code program.js runs, on the same files), and the answers with confidences. */
function realm(files: Record<string, string>, rows: Labelled[]) {
  const score = loadModel(files);
  const answers = rows.map((r) => score(r.input));
  const inputs = rows.slice(0, 5000).map((r) => r.input);
  for (const x of inputs) score(x);
  const rounds = Math.max(1, Math.ceil(20_000 / inputs.length));
  const started = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) for (const x of inputs) score(x);
  const us = Number(process.hrtime.bigint() - started) / 1e3 / inputs.length / rounds;
  return { us, answers };
}

/** Reliability bins of confidence (of the predicted label) against accuracy, and the expected calibration error. */
function calibration(answers: Array<{ result: unknown; confidence: number }>, rows: Labelled[]) {
  const bins = Array.from({ length: BINS }, () => ({ n: 0, conf: 0, right: 0 }));
  answers.forEach((a, i) => {
    const b = bins[Math.min(BINS - 1, Math.floor(a.confidence * BINS))];
    b.n += 1;
    b.conf += a.confidence;
    b.right += a.result === rows[i].output ? 1 : 0;
  });
  const ece = bins.reduce((e, b) => e + (b.n ? Math.abs(b.right - b.conf) / answers.length : 0), 0);
  return { ece, bins };
}

/** The product path: create an app from the train rows over HTTP, wait for its job, score the served version. */
async function productPath(server: RunningServer, set: DataSet) {
  const id = `bench-${set.name}`.replace(/[^a-z0-9-]/g, '-');
  const res = await fetch(`${server.url}/loop-apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      loop_app_id: id,
      task: `classify ${set.name}`,
      input_schema: INPUT_SCHEMA,
      output_schema: outputSchema(set),
      generator: 'learner',
      examples: set.train,
    }),
  });
  const created = (await res.json()) as { job_id?: string; error?: { message: string } };
  if (!created.job_id) throw new Error(`create ${id}: ${JSON.stringify(created)}`);
  const started = Date.now();
  let job: { state: string; error?: string; result?: { eval: Parameters<typeof describeScore>[0] } };
  for (;;) {
    job = (await (await fetch(`${server.url}/jobs/${created.job_id}`)).json()) as typeof job;
    if (job.state === 'succeeded' || job.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (job.state === 'failed') throw new Error(`job for ${id} failed: ${job.error}`);
  const seconds = (Date.now() - started) / 1000;
  const stored = await server.registry.store.readVersion(id, 'v1');
  const { ['program.js']: code, ...files } = stored.files;
  const run = await evaluateInSandbox(server.registry.pool, id, { code, files }, set.test, LIMITS);
  return { accuracy: run.accuracy, reported: job.result!.eval, seconds };
}

interface Row {
  set: DataSet;
  product: Awaited<ReturnType<typeof productPath>>;
  accuracy: number;
  seconds: number;
  kb: number;
  realmUs: number;
  sandboxUs: number;
  ece: number;
  bins: ReturnType<typeof calibration>['bins'];
  rss: number;
  baseline: SklearnRow[] | string;
}

async function measure(server: RunningServer, pool: SandboxPool, set: DataSet): Promise<Row> {
  const started = process.hrtime.bigint();
  const learned = await learn(set.train, INPUT_SCHEMA, outputSchema(set));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = process.resourceUsage().maxRSS / 1024;
  const { ['program.js']: code, ...files } = learned.files;
  const run = await evaluateInSandbox(pool, 'bench', { code, files }, set.test, LIMITS);
  const inRealm = realm(learned.files, set.test);
  const { ece, bins } = calibration(inRealm.answers, set.test);
  const sandboxUs = await sandboxMicros(pool, learned.files, set.test);
  const product = await productPath(server, set);
  const baseline = sklearn(
    set,
    set.train.length > 50_000 ? ['tfidf-word-linearsvc', 'tfidf-wordchar-linearsvc'] : undefined,
  );
  return {
    set,
    product,
    accuracy: run.accuracy,
    seconds,
    kb: learned.stats.program_kb,
    realmUs: inRealm.us,
    sandboxUs,
    ece,
    bins,
    rss,
    baseline,
  };
}

function tables(rows: Row[], fewShot: string[]): string {
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pt`;
  const out = [
    '| data set | train / test | classes | product path (served v1 on test) | its reported estimate | learner alone | best scikit-learn linear | its LinearSVC (word+char) | product − best | learner train s | LinearSVC train s | rows/s | program KB | µs/call realm | µs/call sandbox | ECE |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const sk = typeof r.baseline === 'string' ? [] : r.baseline;
    const best = sk.reduce<SklearnRow | undefined>(
      (a, b) => (!a || b.accuracy > a.accuracy ? b : a),
      undefined,
    );
    const svc = sk.find((b) => b.model === 'tfidf-wordchar-linearsvc');
    const classes = outputSchema(r.set).enum.length;
    out.push(
      `| ${r.set.name} | ${r.set.train.length} / ${r.set.test.length} | ${classes} | ${pct(r.product.accuracy)} | ${describeScore(r.product.reported)} | ${pct(r.accuracy)} | ${best ? `${pct(best.accuracy)} (${best.model})` : 'n/a'} | ${svc ? pct(svc.accuracy) : 'n/a'} | ${best ? signed(r.product.accuracy - best.accuracy) : 'n/a'} | ${r.seconds.toFixed(2)} | ${svc ? svc.train_s.toFixed(2) : 'n/a'} | ${Math.round(r.set.train.length / r.seconds)} | ${r.kb} | ${r.realmUs.toFixed(1)} | ${r.sandboxUs.toFixed(1)} | ${r.ece.toFixed(3)} |`,
    );
  }
  const large = rows.find((r) => r.set.train.length >= 100_000);
  if (large)
    out.push(
      '',
      `Peak RSS of the bench process after training on ${large.set.name}: ${Math.round(large.rss)} MB.`,
    );
  for (const r of rows) if (typeof r.baseline === 'string') out.push('', r.baseline);
  out.push(
    '',
    'Reliability (test split, learner alone): mean confidence → accuracy (rows) per confidence bin',
    '',
  );
  out.push(
    `| bin | ${rows.map((r) => r.set.name).join(' | ')} |`,
    `|---|${rows.map(() => '---:').join('|')}|`,
  );
  for (let b = BINS / 2; b < BINS; b++) {
    const cells = rows.map((r) => {
      const bin = r.bins[b];
      return bin.n ? `${(bin.conf / bin.n).toFixed(2)} → ${(bin.right / bin.n).toFixed(2)} (${bin.n})` : '—';
    });
    out.push(`| ${(b / BINS).toFixed(1)}–${((b + 1) / BINS).toFixed(1)} | ${cells.join(' | ')} |`);
  }
  out.push('', 'Few-shot (learner alone, scored on the full test split):', '');
  out.push('| data set | examples | Loopai learner | program KB |', '|---|---|---:|---:|', ...fewShot);
  return out.join('\n');
}

async function main(): Promise<void> {
  const sets = dataSets(LARGE);
  const pool = new SandboxPool({ size: 1 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-bench-learn-'));
  const server = await startServer(
    {
      data_dir: dataDir,
      host: '127.0.0.1',
      port: 0,
      generator: 'learner',
      max_body_bytes: 256 * 1024 * 1024,
    },
    silentLogger(),
  );
  const rows: Row[] = [];
  const fewShot: string[] = [];
  try {
    for (const set of sets) {
      rows.push(await measure(server, pool, set));
      console.error(`${set.name}: done`);
      if (set.synthetic) continue;
      for (const k of [5, 20]) {
        const learned = await learn(perClass(set.train, k), INPUT_SCHEMA, outputSchema(set));
        const { ['program.js']: code, ...files } = learned.files;
        const run = await evaluateInSandbox(pool, 'bench', { code, files }, set.test, LIMITS);
        fewShot.push(`| ${set.name} | ${k} per class | ${pct(run.accuracy)} | ${learned.stats.program_kb} |`);
      }
    }
  } finally {
    await server.close();
    await pool.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(tables(rows, fewShot));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
