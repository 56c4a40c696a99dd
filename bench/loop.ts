/**
 * `npm run bench:loop`: the improvement loop end to end on real data from LOOPAI_DATASETS (default
 * ../shared/datasets). A real Loopai server runs in this process; a local OpenAI-compatible server plays the LLM
 * oracle and answers with the true labels. Each run creates an app over HTTP from 5 labelled examples per class,
 * streams a split through execute/batch with 5 % sampling, validates every 2 % of the stream (an accelerated
 * schedule) and waits for the improvement it starts. Every 10 % of the stream: the active version's accuracy on
 * the test split, the live accuracy of the answers in that stretch, oracle calls over executions, promotions.
 * Baselines in the same run: the learner trained on the whole train split (fully supervised), and the start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../src/server';
import { canonical, evaluateInSandbox } from '../src/synthesis/evaluate';
import type { Labelled } from '../src/synthesis/generator';
import { learn } from '../src/synthesis/learner';
import { DATASETS_DIR, load, perClass } from './datasets';
import { jsonReply, lastMessage, startOpenAiTestServer } from '../devtools/openai-compatible-server';

const ROOT = path.join(__dirname, '..', '..');
const DIR = DATASETS_DIR;
const PLOT = path.join(ROOT, 'docs', 'bench-loop.svg');

const SETS = [
  {
    name: 'sms-spam',
    task: 'Classify an SMS message as spam (unsolicited advertising, prize and premium-rate scams) or ham (an ordinary message).',
    streams: ['test', 'train'] as const,
  },
  {
    name: 'sentiment-yelp',
    task: 'Classify the sentiment of a sentence from a restaurant review as positive or negative.',
    streams: ['test'] as const,
  },
];
const STRATEGIES = ['random', 'uncertainty'] as const;
type Strategy = (typeof STRATEGIES)[number];
type Stream = 'test' | 'train';

const SAMPLING_RATE = 0.05;
const PER_CLASS = 5;
const BATCH = 25;
/** Validation passes over the stream (one every 2 %), and checkpoints (one every 10 %). */
const PASSES = 50;
const CHECKPOINTS = 10;
/**
 * Verdicts before the policy judges the active version, and between improvement attempts. Small, because the
 * 287-row Yelp stream yields only ~14 verdicts at 5 %: with 20 it would never try to improve.
 */
const MIN_SAMPLES = 5;
const AIM_GAP_POINTS = 2;
/** Sampling is random (in the server), so each configuration runs several times. */
const REPEATS = Number(process.env.BENCH_LOOP_REPEATS ?? 5);
const INPUT_SCHEMA = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
const LIMITS = { timeoutMs: 1000, memoryMb: 64 };

const textOf = (input: unknown) => (input as { text: string }).text;
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);
const fmt = (n: number) => n.toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON over HTTP; an error status throws with the server's error body. */
async function api<T = unknown>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(base + route, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

interface Job {
  job_id: string;
  type: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  result?: { decision?: string };
  error?: string;
}

/** Longest wait for an app's jobs; the learner's jobs here take well under a second. */
const JOB_DEADLINE_MS = 120_000;

/** Waits until no job of the app is queued or running; returns all of its jobs. */
async function jobsSettled(base: string, id: string): Promise<Job[]> {
  const until = Date.now() + JOB_DEADLINE_MS;
  for (;;) {
    const { jobs } = await api<{ jobs: Job[] }>(base, 'GET', `/jobs?loop_app_id=${id}`);
    if (jobs.every((j) => j.state === 'succeeded' || j.state === 'failed')) return jobs;
    if (Date.now() > until) throw new Error(`jobs of ${id} still running after ${JOB_DEADLINE_MS / 1000} s`);
    await sleep(20);
  }
}

/** Accuracy of a program on labelled rows, in the server's own sandbox pool. */
async function scoreProgram(
  server: RunningServer,
  key: string,
  files: Record<string, string>,
  rows: Labelled[],
) {
  const { ['program.js']: code, ...rest } = files;
  return (await evaluateInSandbox(server.registry.pool, key, { code: code ?? '', files: rest }, rows, LIMITS))
    .accuracy;
}

/** The learner trained on `rows`, scored on `test`. */
async function learnerAccuracy(server: RunningServer, rows: Labelled[], test: Labelled[], labels: string[]) {
  const learned = await learn(rows, INPUT_SCHEMA, { type: 'string', enum: labels });
  return scoreProgram(server, 'bench-learner', learned.files, test);
}

interface ImprovementEvent {
  type: string;
  candidate_accuracy?: number;
  active_accuracy?: number;
  method?: string;
}

interface Checkpoint {
  at: number;
  version: string;
  accuracy: number;
  live: number | null;
  labelled: number;
  oracleCalls: number;
  executions: number;
  promoted: number;
}

interface Run {
  streamed: number;
  checkpoints: Checkpoint[];
  supervised: number;
  sameLabels: number;
  improvements: {
    promoted: number;
    rejected: number;
    failed: number;
    total: number;
  };
  /** The `candidate_rejected` events, with both scores and how they were measured. */
  rejections: ImprovementEvent[];
  rolledBack: number;
  errors: number;
  seconds: number;
}

async function runLoop(
  server: RunningServer,
  set: (typeof SETS)[number],
  data: { train: Labelled[]; test: Labelled[]; labels: string[]; supervised: number },
  stream: Stream,
  strategy: Strategy,
  repeat: number,
): Promise<Run> {
  const started = Date.now();
  const base = server.url;
  const id = `${set.name}-${stream}-${strategy}-${repeat}`;
  const rows = data[stream];
  const created = await api<{ job_id: string }>(base, 'POST', '/loop-apps', {
    loop_app_id: id,
    task: set.task,
    input_schema: INPUT_SCHEMA,
    output_schema: { type: 'string', enum: data.labels },
    examples: perClass(data.train, PER_CLASS),
    sampling: { rate: SAMPLING_RATE, strategy },
    validation: {
      oracle: 'llm',
      schedule: '0 0 1 1 *', // never during the run: the bench calls validate itself
      min_samples: MIN_SAMPLES,
      accuracy_threshold: 0.995, // below it, the policy keeps trying to improve
      window: 200,
      daily_oracle_cap: 1_000_000,
    },
    improvement: { auto: true, promotion: 'auto' },
  });
  const creation = await jobsSettled(base, id);
  const failed = creation.find((j) => j.job_id === created.job_id && j.state === 'failed');
  if (failed) throw new Error(`creating ${id} failed: ${failed.error}`);

  const scores = new Map<string, number>();
  const activeAccuracy = async (): Promise<{ version: string; accuracy: number }> => {
    const version = (await api<{ current_version: string }>(base, 'GET', `/loop-apps/${id}`)).current_version;
    if (!scores.has(version)) {
      const stored = await server.registry.store.readVersion(id, version);
      scores.set(version, await scoreProgram(server, `bench-${id}`, stored.files, data.test));
    }
    return { version, accuracy: scores.get(version)! };
  };
  const snapshot = async (at: number, live: number | null): Promise<Checkpoint> => {
    const { summary } = await api<{ summary: { executions: number; oracle_calls: number } }>(
      base,
      'GET',
      `/loop-apps/${id}/analytics`,
    );
    const { events } = await api<{ events: Array<{ type: string }> }>(
      base,
      'GET',
      `/loop-apps/${id}/events?limit=1000`,
    );
    const labelled = new Set((await server.registry.store.readExamples(id)).map((e) => canonical(e.input)))
      .size;
    return {
      at,
      ...(await activeAccuracy()),
      live,
      labelled,
      oracleCalls: summary.oracle_calls,
      executions: summary.executions,
      promoted: events.filter((e) => e.type === 'promoted').length,
    };
  };

  const checkpoints = [await snapshot(0, null)];
  let errors = 0;
  let right = 0;
  let answered = 0;
  for (let pass = 1; pass <= PASSES; pass++) {
    const from = Math.round(((pass - 1) * rows.length) / PASSES);
    const to = Math.round((pass * rows.length) / PASSES);
    for (let start = from; start < to; start += BATCH) {
      const chunk = rows.slice(start, Math.min(start + BATCH, to));
      const { results } = await api<{ results: Array<{ output?: unknown; error?: unknown }> }>(
        base,
        'POST',
        `/loop-apps/${id}/execute/batch`,
        { inputs: chunk.map((r) => r.input) },
      );
      results.forEach((r, k) => {
        if (r.error) errors += 1;
        if (r.output === chunk[k].output) right += 1;
        answered += 1;
      });
    }
    await api(base, 'POST', `/loop-apps/${id}/validate`);
    await jobsSettled(base, id);
    if (pass % (PASSES / CHECKPOINTS) === 0) {
      checkpoints.push(await snapshot(pass / PASSES, answered ? right / answered : null));
      right = answered = 0;
    }
  }
  console.error(`${id}: ${pct(checkpoints[0].accuracy)} → ${pct(checkpoints[CHECKPOINTS].accuracy)}`);

  const jobs = (await jobsSettled(base, id)).filter((j) => j.type === 'improve');
  const { events } = await api<{ events: ImprovementEvent[] }>(
    base,
    'GET',
    `/loop-apps/${id}/events?limit=1000`,
  );
  // what the learner makes of exactly the labels the loop gathered, trained on all of them at once
  const byInput = new Map<string, Labelled>();
  for (const e of await server.registry.store.readExamples(id)) byInput.set(canonical(e.input), e);
  return {
    streamed: rows.length,
    checkpoints,
    supervised: data.supervised,
    sameLabels: await learnerAccuracy(server, [...byInput.values()], data.test, data.labels),
    improvements: {
      promoted: jobs.filter((j) => j.result?.decision === 'promoted').length,
      rejected: jobs.filter((j) => j.result?.decision === 'rejected').length,
      failed: jobs.filter((j) => j.state === 'failed').length,
      total: jobs.length,
    },
    rejections: events.filter((e) => e.type === 'candidate_rejected'),
    rolledBack: events.filter((e) => e.type === 'rolled_back').length,
    errors,
    seconds: (Date.now() - started) / 1000,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const points = (x: number) => (x * 100).toFixed(1);
/** Mean over the repeats, with the lowest and highest when there is more than one. */
const spread = (xs: number[]) =>
  xs.length > 1 ? `${pct(mean(xs))} (${points(Math.min(...xs))}–${points(Math.max(...xs))})` : pct(mean(xs));

/** The repeats of one data set × stream × strategy. */
interface Config {
  set: string;
  stream: Stream;
  strategy: Strategy;
  runs: Run[];
}

const streamName = (c: Pick<Config, 'stream'>) =>
  c.stream === 'test' ? 'test split' : 'train split (scored on the test split)';

function configTable(c: Config): string {
  const { runs } = c;
  const lines = [
    `### ${c.set}: stream = ${streamName(c)}, ${fmt(runs[0].streamed)} rows, sampling ${c.strategy} at ${SAMPLING_RATE * 100} %, ${runs.length} repeats`,
    '',
    '| stream | active version per repeat | accuracy on test split | live accuracy (this 10 %) | labelled rows | oracle calls / executions | oracle share | promoted (mean) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  runs[0].checkpoints.forEach((first, i) => {
    const at = runs.map((r) => r.checkpoints[i]);
    const calls = at.reduce((n, p) => n + p.oracleCalls, 0);
    const executions = at.reduce((n, p) => n + p.executions, 0);
    const live = at.filter((p) => p.live !== null).map((p) => p.live!);
    lines.push(
      `| ${first.at === 0 ? 'start' : `${Math.round(first.at * 100)} %`} | ${at.map((p) => p.version).join(' ')} | ${spread(at.map((p) => p.accuracy))} | ${live.length ? pct(mean(live)) : '–'} | ${fmt(Math.round(mean(at.map((p) => p.labelled))))} | ${fmt(Math.round(calls / at.length))} / ${fmt(first.executions)} | ${pct(executions ? calls / executions : null)} | ${mean(at.map((p) => p.promoted)).toFixed(1)} |`,
    );
  });
  const sum = (f: (r: Run) => number) => runs.reduce((n, r) => n + f(r), 0);
  const rejections = runs.flatMap((r) => r.rejections);
  const ties = rejections.filter((e) => e.candidate_accuracy === e.active_accuracy).length;
  // too few rows to hold a fifth out: the candidate scored by k-fold, compared on rows neither version trained on
  const scarce = rejections.filter((e) => e.method?.includes('cross-validation'));
  const scarceNote = scarce.length
    ? `, ${scarce.length} scored by k-fold (on rows neither trained on: ${pct(mean(scarce.map((e) => e.candidate_accuracy!)))} vs ${pct(mean(scarce.map((e) => e.active_accuracy!)))} on average)`
    : '';
  lines.push(
    '',
    `improvement runs: ${sum((r) => r.improvements.total)} in ${runs.length} repeats (promoted ${sum((r) => r.improvements.promoted)}, ` +
      `rejected ${sum((r) => r.improvements.rejected)}: ${ties} of them ties${scarceNote}; failed ${sum((r) => r.improvements.failed)}); ` +
      `rolled back: ${sum((r) => r.rolledBack)}; execute errors: ${sum((r) => r.errors)}; ${(sum((r) => r.seconds) / runs.length).toFixed(1)} s a repeat`,
  );
  return lines.join('\n');
}

function summaryTable(configs: Config[]): string {
  const lines = [
    '| data set | stream | sampling | start (5 per class) | final accuracy | fully supervised | gap | oracle share | LLM calls saved vs calling it every time | versions promoted | learner on the same labels | aim met (mean; repeats) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const c of configs) {
    const finals = c.runs.map((r) => r.checkpoints[r.checkpoints.length - 1]);
    const supervised = c.runs[0].supervised;
    const share = (ps: Checkpoint[]) =>
      ps.reduce((n, p) => n + p.oracleCalls, 0) / ps.reduce((n, p) => n + p.executions, 0);
    const met = (ps: Checkpoint[]) =>
      (supervised - mean(ps.map((p) => p.accuracy))) * 100 <= AIM_GAP_POINTS && share(ps) <= SAMPLING_RATE;
    const gap = (supervised - mean(finals.map((p) => p.accuracy))) * 100;
    lines.push(
      `| ${c.set} | ${c.stream} split | ${c.strategy} | ${pct(c.runs[0].checkpoints[0].accuracy)} | ${spread(finals.map((p) => p.accuracy))} | ${pct(supervised)} | ${gap.toFixed(1)} pt | ${pct(share(finals))} | ${pct(1 - share(finals))} | ${mean(finals.map((p) => p.promoted)).toFixed(1)} | ${spread(c.runs.map((r) => r.sameLabels))} | ${met(finals) ? 'yes' : 'no'}; ${finals.filter((p) => met([p])).length} of ${finals.length} |`,
    );
  }
  return lines.join('\n');
}

// ---- the plot: a small hand-written SVG, one panel per data set ----

const COLORS: Record<Strategy, string> = { random: '#1f77b4', uncertainty: '#d62728' };
const PANEL_W = 460;
/** Top and height of the axes, and where the legend under them starts. */
const TOP = 40;
const AXES_H = 200;
const LEGEND_Y = TOP + AXES_H + 50;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xy = (ps: Array<readonly [number, number]>) =>
  ps.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');

function panel(configs: Config[], x0: number, yMin: number): string {
  const left = x0 + 60;
  const top = TOP;
  const width = PANEL_W - 80;
  const height = AXES_H;
  const px = (f: number) => left + f * width;
  const py = (a: number) => top + height - ((a - yMin) / (1 - yMin)) * height;
  const supervised = configs[0].runs[0].supervised;
  const out: string[] = [
    `<text x="${left + width / 2}" y="24" text-anchor="middle" font-weight="bold">${esc(configs[0].set)}</text>`,
  ];
  for (let t = 0; t <= 10; t++) {
    out.push(
      `<line x1="${px(t / 10)}" y1="${top + height}" x2="${px(t / 10)}" y2="${top + height + 4}" stroke="#444"/>`,
      `<text x="${px(t / 10)}" y="${top + height + 16}" text-anchor="middle" font-size="10">${t * 10}</text>`,
    );
  }
  for (let k = Math.ceil(yMin * 10 - 1e-9); k <= 10; k++) {
    out.push(
      `<line x1="${left}" y1="${py(k / 10)}" x2="${left + width}" y2="${py(k / 10)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${py(k / 10) + 3}" text-anchor="end" font-size="10">${k * 10} %</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#444"/>`,
    `<text x="${left + width / 2}" y="${top + height + 32}" text-anchor="middle" font-size="11">% of the stream executed</text>`,
    `<text transform="translate(${x0 + 16} ${top + height / 2}) rotate(-90)" text-anchor="middle" font-size="11">accuracy on the test split</text>`,
    `<line x1="${left}" y1="${py(supervised)}" x2="${left + width}" y2="${py(supervised)}" stroke="#555" stroke-dasharray="6 4"/>`,
  );
  const legend: Array<{ label: string; draw: (x: number, y: number) => string }> = [];
  for (const c of configs) {
    const color = COLORS[c.strategy];
    const square = c.stream === 'train';
    const mark = (x: number, y: number) =>
      square
        ? `<rect x="${x - 3}" y="${y - 3}" width="6" height="6" fill="${color}"/>`
        : `<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`;
    const at = c.runs[0].checkpoints.map((p, i) => ({
      x: px(p.at),
      accuracies: c.runs.map((r) => r.checkpoints[i].accuracy),
    }));
    const line = at.map((p) => [p.x, py(mean(p.accuracies))] as const);
    // the band from the lowest to the highest repeat, then the mean over it
    const band = [
      ...at.map((p) => [p.x, py(Math.max(...p.accuracies))] as const),
      ...at.map((p) => [p.x, py(Math.min(...p.accuracies))] as const).reverse(),
    ];
    out.push(
      `<polygon points="${xy(band)}" fill="${color}" fill-opacity="0.1" stroke="none"/>`,
      `<polyline fill="none" stroke="${color}" stroke-width="${square ? 2.5 : 1.5}" points="${xy(line)}"/>`,
      ...line.map(([x, y]) => mark(x, y)),
    );
    legend.push({
      label: `${c.strategy} sampling, streaming the ${c.stream} split`,
      draw: (x, y) =>
        `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${color}" stroke-width="${square ? 2.5 : 1.5}"/>${mark(x + 11, y)}`,
    });
  }
  legend.push({
    label: `fully supervised learner (${pct(supervised)})`,
    draw: (x, y) =>
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="#555" stroke-dasharray="6 4"/>`,
  });
  legend.forEach((item, k) => {
    const y = LEGEND_Y + k * 15;
    out.push(
      item.draw(left, y),
      `<text x="${left + 30}" y="${y + 4}" font-size="11">${esc(item.label)}</text>`,
    );
  });
  return out.join('\n');
}

function plot(configs: Config[]): string {
  const sets = [...new Set(configs.map((c) => c.set))];
  const lowest = Math.min(
    ...configs.flatMap((c) => c.runs.flatMap((r) => r.checkpoints.map((p) => p.accuracy))),
  );
  const yMin = Math.max(0, Math.floor(lowest * 10 - 1e-9) / 10);
  const legendRows = Math.max(...sets.map((s) => configs.filter((c) => c.set === s).length)) + 1;
  const width = PANEL_W * sets.length;
  const noteY = LEGEND_Y + (legendRows - 1) * 15 + 26;
  const height = noteY + 10;
  const repeats = configs[0].runs.length;
  const notes = `${repeats === 1 ? 'one run' : `mean of ${repeats} repeats (band: lowest to highest)`}; sampling ${SAMPLING_RATE * 100} %, LLM oracle`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...sets.map((s, k) =>
      panel(
        configs.filter((c) => c.set === s),
        k * PANEL_W,
        yMin,
      ),
    ),
    `<text x="${width / 2}" y="${noteY}" text-anchor="middle" font-size="10" fill="#555">${esc(notes)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const missing = SETS.flatMap((s) =>
    ['train', 'test'].map((split) => path.join(DIR, `${s.name}.${split}.jsonl`)),
  ).filter((f) => !fs.existsSync(f));
  if (missing.length) {
    console.error(
      `bench:loop needs the data sets ${SETS.map((s) => s.name).join(' and ')} in LOOPAI_DATASETS (now ${DIR}); missing: ${missing.join(', ')}`,
    );
    process.exit(2);
  }
  if (!Number.isInteger(REPEATS) || REPEATS < 1) {
    console.error(
      `BENCH_LOOP_REPEATS must be a whole number from 1 up (it is ${process.env.BENCH_LOOP_REPEATS})`,
    );
    process.exit(2);
  }
  const began = Date.now();
  /** The labels of the data set being streamed: what the oracle answers. */
  let truth = new Map<string, unknown>();
  const llm = await startOpenAiTestServer((req) => {
    const text = textOf(JSON.parse(lastMessage(req)));
    return truth.has(text)
      ? jsonReply({ output: truth.get(text) })
      : { status: 400, message: `the oracle has no label for ${JSON.stringify(text.slice(0, 80))}` };
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-bench-loop-'));
  const server = await startServer({
    data_dir: dataDir,
    host: '127.0.0.1',
    port: 0,
    log_level: 'warn',
    generator: 'learner',
    llm: { base_url: llm.url, model: 'oracle', timeout_ms: 10_000, repair_rounds: 0 },
  });
  const configs: Config[] = [];
  try {
    for (const set of SETS) {
      const train = load(path.join(DIR, `${set.name}.train.jsonl`));
      const test = load(path.join(DIR, `${set.name}.test.jsonl`));
      const labels = [...new Set(train.map((r) => r.output as string))].sort();
      truth = new Map([...train, ...test].map((r) => [textOf(r.input), r.output]));
      const supervised = await learnerAccuracy(server, train, test, labels);
      for (const stream of set.streams) {
        for (const strategy of STRATEGIES) {
          const runs: Run[] = [];
          for (let repeat = 1; repeat <= REPEATS; repeat++) {
            runs.push(
              await runLoop(server, set, { train, test, labels, supervised }, stream, strategy, repeat),
            );
          }
          configs.push({ set: set.name, stream, strategy, runs });
        }
      }
    }
  } finally {
    await server.close();
    await llm.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  console.log(
    `loop benchmark: ${os.cpus().length} cores, Node ${process.version}; sampling ${SAMPLING_RATE * 100} % of executions, ` +
      `LLM oracle answering with the true label; a validation pass every ${100 / PASSES} % of the stream (batches of ${BATCH}), ` +
      `waiting for the improvement it starts; min_samples ${MIN_SAMPLES}, accuracy_threshold 0.995, promotion auto; ` +
      `${REPEATS} repeats of each configuration (the sampling is random)\n`,
  );
  for (const c of configs) console.log(`${configTable(c)}\n`);
  console.log(`### Summary (means over ${REPEATS} repeats)\n`);
  console.log(summaryTable(configs));
  console.log(
    `\naim: within ${AIM_GAP_POINTS} points of the fully supervised learner with the oracle on ≤ ${SAMPLING_RATE * 100} % of calls. ` +
      `"learner on the same labels": the learner trained once on every row the loop had labelled at the end (the 5 per class + the oracle's verdicts). ` +
      `Streaming the test split, the rows the oracle labelled are also rows the accuracy is measured on.`,
  );
  const counted = configs
    .flatMap((c) => c.runs)
    .reduce((n, r) => n + r.checkpoints[CHECKPOINTS].oracleCalls, 0);
  console.log(
    `oracle requests answered by the local OpenAI-compatible server: ${fmt(llm.requests.length)}; oracle calls in the server's analytics: ${fmt(counted)}`,
  );
  fs.mkdirSync(path.dirname(PLOT), { recursive: true });
  fs.writeFileSync(PLOT, plot(configs));
  console.log(`plot written to ${path.relative(process.cwd(), PLOT) || PLOT}`);
  console.log(`bench time: ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
