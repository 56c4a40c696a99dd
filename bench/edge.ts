/**
 * `npm run bench:edge`: a cloud and two edges, each a process of its own on this machine, measured in one run:
 * - propagation: an activation on the cloud until both edges serve it (20 activations, p50 and max);
 * - telemetry lag: an execution at an edge until its sample is recorded at the cloud (20, p50 and max);
 * - execute req/s of an edge beside the cloud's own (the same learned app, autocannon, 32 connections);
 * - failed requests at the edges while the cloud restarts (target 0);
 * - the spool: samples an edge holds through an outage, and how fast they drain when the cloud is back.
 * BENCH_SECONDS sets the length of each load run (default 5).
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDataDir } from './execute/apps';
import { saturate } from './execute/load';
import { ROOT, startLoopai, stop, type Started } from './execute/servers';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ADMIN = 'admin-key-of-the-edge-bench';
const EDGE = 'edge-key-of-the-edge-bench';
const PORTS = { cloud: 18180, edges: [18181, 18182] };
const ROUNDS = 20;

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)];

const program = (answer: string) =>
  `function execute(input) { return { result: '${answer}', confidence: 0.9 }; }\n`;

/** The cloud's apps: the bundled spam model (for req/s), a two-version app to flip, and one that samples everything. */
function cloudData(): string {
  const dir = tempDataDir();
  fs.cpSync(
    path.join(ROOT, 'loopai-data', 'loop-apps', 'spam-detector-001'),
    path.join(dir, 'loop-apps', 'spam-detector-001'),
    {
      recursive: true,
      verbatimSymlinks: true,
    },
  );
  for (const [id, sampling] of [
    ['flip', 0],
    ['sampled', 1],
  ] as const) {
    const app = path.join(dir, 'loop-apps', id);
    for (const v of ['v1', 'v2']) {
      fs.mkdirSync(path.join(app, 'artifacts', v), { recursive: true });
      fs.writeFileSync(path.join(app, 'artifacts', v, 'program.js'), program(v === 'v1' ? 'ham' : 'spam'));
    }
    fs.symlinkSync('v1', path.join(app, 'artifacts', 'active'));
    fs.writeFileSync(
      path.join(app, 'config.yaml'),
      [
        `loop_app_id: ${id}`,
        'task: classify',
        'input_schema: {type: object, properties: {text: {type: string}}}',
        'output_schema: {type: string, enum: [spam, ham]}',
        `sampling: {rate: ${sampling}, strategy: random}`,
        'validation: {oracle: human}',
        '',
      ].join('\n'),
    );
  }
  return dir;
}

const post = (url: string, pathName: string, body: unknown, key?: string) =>
  fetch(url + pathName, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));

const versionAt = async (url: string) =>
  (await post(url, '/loop-apps/flip/execute', { input: { text: 'x' } })).body.version;

/** Ids of the samples the cloud holds from one edge. */
function received(cloudDir: string, edge: string): Set<string> {
  const dir = path.join(cloudDir, 'loop-apps', 'sampled', 'datasets', 'executions');
  const ids = new Set<string>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!name.includes(`.edge-${edge}.`)) continue;
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n'))
      if (line.startsWith('{"id":"')) ids.add(line.slice(7, 43));
  }
  return ids;
}

async function main(): Promise<void> {
  const cloudDir = cloudData();
  const edgeDirs = PORTS.edges.map(() => tempDataDir());
  const config = path.join(tempDataDir(), 'loopai.yaml');
  fs.writeFileSync(config, 'cloud:\n  retry_max_ms: 1000\n');
  const startCloud = () =>
    startLoopai(cloudDir, PORTS.cloud, {
      LOOPAI_ROLE: 'cloud',
      LOOPAI_API_KEYS: `admin:${ADMIN},edge:${EDGE}`,
    });
  let cloud = await startCloud();
  const edges: Started[] = [];
  for (const [i, port] of PORTS.edges.entries()) {
    edges.push(
      await startLoopai(edgeDirs[i], port, {
        LOOPAI_ROLE: 'edge',
        LOOPAI_CLOUD_URL: cloud.url,
        LOOPAI_CLOUD_KEY: EDGE,
        LOOPAI_EDGE_NAME: `edge-${i + 1}`,
        LOOPAI_CONFIG: config,
      }),
    );
  }
  const rows: string[][] = [];
  try {
    // propagation
    const propagation: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const target = round % 2 ? 'v1' : 'v2';
      const began = performance.now();
      const res = await post(cloud.url, `/loop-apps/flip/versions/${target}/activate`, {}, ADMIN);
      if (res.status !== 200) throw new Error(`activation: ${res.status} ${JSON.stringify(res.body)}`);
      for (const edge of edges) while ((await versionAt(edge.url)) !== target) await sleep(2);
      propagation.push(performance.now() - began);
    }
    rows.push([
      'activation on the cloud → both edges serve it',
      `p50 ${fmt(quantile(propagation, 0.5), 1)} ms`,
      `max ${fmt(Math.max(...propagation), 1)} ms`,
      '≤ 1 s p50, ≤ 3 s max',
    ]);

    // telemetry lag (the edge gathers every telemetry_interval_ms, 2 s by default)
    const lags: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(Math.random() * 2000); // executions come at any moment of the gathering interval
      const began = performance.now();
      const res = await post(edges[0].url, '/loop-apps/sampled/execute', { input: { text: `lag ${round}` } });
      const id = String(res.body.execution_id);
      while (!received(cloudDir, 'edge-1').has(id)) await sleep(10);
      lags.push(performance.now() - began);
    }
    rows.push([
      'execution at an edge → its sample at the cloud',
      `p50 ${fmt(quantile(lags, 0.5))} ms`,
      `max ${fmt(Math.max(...lags))} ms`,
      'gathered every 2 s (edge.telemetry_interval_ms)',
    ]);

    // req/s
    const body = JSON.stringify({ input: { text: 'WIN a FREE prize now', sender: 'promo@win.example' } });
    const execute = (s: Started) => `${s.url}/loop-apps/spam-detector-001/execute`;
    const onCloud = await saturate(execute(cloud), body, 32, SECONDS, { authorization: `Bearer ${ADMIN}` });
    const onEdge = await saturate(execute(edges[0]), body, 32, SECONDS);
    rows.push([
      'execute req/s, learned spam model: cloud',
      fmt(onCloud.rps),
      `p99 ${onCloud.p99} ms`,
      `errors ${onCloud.errors}`,
    ]);
    rows.push([
      'execute req/s, the same on an edge',
      fmt(onEdge.rps),
      `p99 ${onEdge.p99} ms`,
      `${fmt(onEdge.rps / onCloud.rps, 2)} × the cloud's`,
    ]);

    // failed requests across a cloud restart
    const during = Promise.all(edges.map((edge) => saturate(execute(edge), body, 16, SECONDS)));
    await sleep(1000);
    await stop(cloud);
    await sleep(1000);
    cloud = await startCloud();
    const loads = await during;
    const failed = loads.reduce((n, l) => n + l.errors, 0);
    const served = loads.reduce((n, l) => n + l.rps * SECONDS, 0);
    rows.push([
      'requests at both edges across a cloud restart',
      `${fmt(served)} answered`,
      `${failed} failed`,
      'target 0 failed',
    ]);

    // the spool through an outage, and its drain
    await stop(cloud);
    const outage = await saturate(`${edges[0].url}/loop-apps/sampled/execute`, body, 16, SECONDS);
    await sleep(2500); // one more gather: every sample is in the spool
    const spoolDir = path.join(edgeDirs[0], 'edge', 'spool');
    const spooled = fs
      .readdirSync(spoolDir)
      .reduce((n, f) => n + fs.statSync(path.join(spoolDir, f)).size, 0);
    const before = received(cloudDir, 'edge-1').size;
    const expected = before + Math.round(outage.rps * SECONDS) - outage.errors;
    cloud = await startCloud();
    const drainStart = performance.now();
    while (fs.readdirSync(spoolDir).length && performance.now() - drainStart < 120_000) await sleep(20);
    const drainMs = performance.now() - drainStart;
    const now = received(cloudDir, 'edge-1').size;
    rows.push([
      'samples spooled during an outage, then drained',
      `${fmt(now - before)} samples (${fmt(spooled / 1024 / 1024, 1)} MB)`,
      `${fmt(((now - before) / drainMs) * 1000)} samples/s`,
      `~${fmt(expected - before)} executed, ${outage.errors} failed`,
    ]);
  } finally {
    await Promise.all([cloud, ...edges].map((s) => stop(s)));
  }
  const header = ['what', 'figure', '', 'target / note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
