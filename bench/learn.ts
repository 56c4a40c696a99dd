/**
 * `npm run bench:learn`: the offline learner on every `*.train.jsonl` / `*.test.jsonl` pair in LOOPAI_DATASETS
 * (default ../shared/datasets), scored through the real sandbox, beside scikit-learn's linear models run in the
 * same run. Also few-shot: 5 and 20 examples per class.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxPool } from '../src/runtime/sandbox/pool';
import { evaluateInSandbox } from '../src/synthesis/evaluate';
import type { Labelled } from '../src/synthesis/generator';
import { learn } from '../src/synthesis/learner';
import { DATASETS_DIR, load, perClass } from './datasets';

const DIR = DATASETS_DIR;
const BASELINE = path.resolve(
  process.env.LOOPAI_SKLEARN_BASELINE ?? path.join(DIR, '..', 'baselines', 'sklearn_baseline.py'),
);
const INPUT_SCHEMA = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };

interface SklearnRow {
  dataset: string;
  model: string;
  accuracy: number;
  train_s: number;
}

function sklearn(): SklearnRow[] | string {
  try {
    const out = execFileSync('/usr/bin/python3', [BASELINE, DIR, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as SklearnRow);
  } catch (err) {
    return `scikit-learn baseline not run (${(err as Error).message.split('\n')[0]}); install it with apt-get install -y python3-sklearn`;
  }
}

/** µs per call of a loaded program in the sandbox, in batches of 100, after a warm-up pass. */
async function timeCalls(
  pool: SandboxPool,
  code: string,
  files: Record<string, string>,
  rows: Labelled[],
): Promise<number> {
  const key = `bench@timing@${Date.now()}`;
  await pool.load({ key, code, files, timeoutMs: 1000, memoryMb: 64 });
  const inputs = rows.map((r) => r.input);
  const pass = async () => {
    for (let i = 0; i < inputs.length; i += 100) await pool.runBatch(key, inputs.slice(i, i + 100));
  };
  await pass();
  const started = process.hrtime.bigint();
  await pass();
  const us = Number(process.hrtime.bigint() - started) / 1e3 / inputs.length;
  await pool.unload(key);
  return us;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

async function main(): Promise<void> {
  if (!fs.existsSync(DIR)) {
    console.log(
      `no data sets at ${DIR}; set LOOPAI_DATASETS to a folder of *.train.jsonl / *.test.jsonl pairs`,
    );
    return;
  }
  const names = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.train.jsonl'))
    .map((f) => f.slice(0, -'.train.jsonl'.length))
    .sort();
  const pool = new SandboxPool({ size: 1 });
  const rows: string[] = [];
  const fewShot: string[] = [];
  try {
    for (const name of names) {
      const train = load(path.join(DIR, `${name}.train.jsonl`));
      const test = load(path.join(DIR, `${name}.test.jsonl`));
      const labels = [...new Set(train.map((r) => r.output))].sort();
      const outputSchema = { type: 'string', enum: labels };
      const run = async (data: Labelled[]) => {
        const started = process.hrtime.bigint();
        const learned = learn(data, INPUT_SCHEMA, outputSchema);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const { ['program.js']: code, ...files } = learned.files;
        const limits = { timeoutMs: 1000, memoryMb: 64 };
        const report = await evaluateInSandbox(pool, 'bench', { code, files }, test, limits);
        const usPerCall = await timeCalls(pool, code, files, test);
        return { accuracy: report.accuracy, seconds, kb: learned.stats.program_kb, usPerCall };
      };
      const full = await run(train);
      rows.push(
        `${name}|${train.length}|${test.length}|${pct(full.accuracy)}|${full.seconds.toFixed(2)}|${full.kb}|${full.usPerCall.toFixed(1)}`,
      );
      for (const k of [5, 20]) {
        const few = await run(perClass(train, k));
        fewShot.push(`| ${name} | ${k} per class | ${pct(few.accuracy)} | ${few.kb} |`);
      }
      console.error(`${name}: done`);
    }
  } finally {
    await pool.close();
  }

  const baseline = sklearn();
  const table = [
    '| data set | train / test | Loopai learner | best scikit-learn linear | TF-IDF word+char + LinearSVC | learner − best | learner train s | LinearSVC train s | program KB | µs / call (sandbox, batched) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const [name, ntrain, ntest, acc, secs, kb, us] = row.split('|');
    const ours = Number(acc.replace(' %', '')) / 100;
    const sk = typeof baseline === 'string' ? [] : baseline.filter((b) => b.dataset === name);
    const best = sk.reduce((a, b) => (b.accuracy > a.accuracy ? b : a), sk[0]);
    const svc = sk.find((b) => b.model === 'tfidf-wordchar-linearsvc');
    const diff = best
      ? `${(ours - best.accuracy) * 100 >= 0 ? '+' : ''}${((ours - best.accuracy) * 100).toFixed(1)} pt`
      : 'n/a';
    table.push(
      `| ${name} | ${ntrain} / ${ntest} | ${acc} | ${best ? `${pct(best.accuracy)} (${best.model})` : 'n/a'} | ${svc ? pct(svc.accuracy) : 'n/a'} | ${diff} | ${secs} | ${svc ? svc.train_s.toFixed(2) : 'n/a'} | ${kb} | ${us} |`,
    );
  }
  console.log(table.join('\n'));
  if (typeof baseline === 'string') console.log(`\n${baseline}`);
  console.log('\nFew-shot (scored on the full test split):\n');
  console.log('| data set | examples | Loopai learner | program KB |\n|---|---|---:|---:|');
  console.log(fewShot.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
