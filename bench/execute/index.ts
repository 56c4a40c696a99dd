/**
 * `npm run bench:execute`: the execute path against the ceiling of this machine, in one run.
 * - a bare node:http server answering a constant JSON body (the baseline);
 * - POST …/execute of an app the learner made, on the in-process path and (the same model, `execution.in_process:
 *   false`) in the sandbox; one worker and two; the batch endpoint on both paths;
 * - the same rows in scikit-learn behind FastAPI (what a user would build instead), when Debian's packages are here;
 * - a CPU profile of the server under load;
 * - memory with 1, 100 and 1,000 apps on disk, and 10,000 apps: start-up, idle memory, 1,000 first calls.
 * Every server is a process of its own; autocannon and the latency clients run in this one (on this 2-core machine
 * the load generator takes a core). BENCH_SECONDS sets the length of each run (default 10).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchApp, copies, linkCopy, tempDataDir, weightsKb, type BenchApp } from './apps';
import { oneConnection, paced, saturate, type Load } from './load';
import { topFunctions } from './profile';
import { startBare, startLoopai, startPeer, stop, treeCpuUs, treeRssMb, type Started } from './servers';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const RATE = 1000;
const BATCH = 100;
const PORT = 18081;

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number) => fmt(n, 3);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

const inputs = (app: BenchApp): Array<{ text: string }> =>
  fs
    .readFileSync(app.trainFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, BATCH)
    .map((l) => ({ text: String(JSON.parse(l).input.text) }));

/** A saturated run, with the CPU time the server's processes spent on each request. */
type Measured = Load & { cpuUs: number };

async function saturated(s: Started, url: string, body: string): Promise<Measured> {
  const before = treeCpuUs(s.proc.pid!);
  const load = await saturate(url, body, CONNECTIONS, SECONDS);
  return { ...load, cpuUs: (treeCpuUs(s.proc.pid!) - before) / (load.rps * SECONDS) };
}

interface Paths {
  saturated: Measured;
  single: Load;
  rate: Load;
}

/** Saturated, one connection, and fixed-rate runs of one URL. */
async function paths(s: Started, url: string, body: string): Promise<Paths> {
  await saturate(url, body, CONNECTIONS, 2); // warm-up: JIT, first load
  return {
    saturated: await saturated(s, url, body),
    single: await oneConnection(url, body, SECONDS / 2),
    rate: await paced(url, body, RATE, SECONDS),
  };
}

async function run(start: () => Promise<Started>, measure: (s: Started) => Promise<void>): Promise<Started> {
  const server = await start();
  try {
    await measure(server);
  } finally {
    await stop(server);
  }
  return server;
}

/** Server memory with `n` copies of the app on disk, the first called 200 times. */
async function memory(app: BenchApp, n: number): Promise<{ own: number; total: number }> {
  const { dataDir, ids } = copies(app, n);
  let rss = { own: 0, total: 0 };
  await run(
    () => startLoopai(dataDir, PORT),
    async (s) => {
      const body = JSON.stringify({ input: { text: 'win a free prize now' } });
      for (let i = 0; i < 200; i++)
        await fetch(`${s.url}/loop-apps/${ids[0]}/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      rss = treeRssMb(s.proc.pid!);
    },
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
  return rss;
}

/** 10,000 apps on disk: time to /ready, idle memory, then the first call of 1,000 of them, one after another. */
async function scale(app: BenchApp) {
  const { dataDir, ids } = copies(app, 10_000);
  const result = { readyS: 0, idleMb: 0, activeMb: 0, coldP50: 0, coldP99: 0 };
  await run(
    () => startLoopai(dataDir, PORT),
    async (s) => {
      result.readyS = s.readyMs / 1000;
      await sleep(5000);
      result.idleMb = treeRssMb(s.proc.pid!).total;
      const latencies: number[] = [];
      for (const id of ids.slice(0, 1000)) {
        const sent = performance.now();
        const res = await fetch(`${s.url}/loop-apps/${id}/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: { text: 'win a free prize now' } }),
        });
        await res.text();
        if (res.status !== 200) throw new Error(`${id}: ${res.status}`);
        latencies.push(performance.now() - sent);
      }
      latencies.sort((a, b) => a - b);
      result.coldP50 = latencies[500];
      result.coldP99 = latencies[990];
      result.activeMb = treeRssMb(s.proc.pid!).total;
    },
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
  return result;
}

/** The peer under the same load as Loopai: saturated, and one connection. */
async function measurePeer(
  started: Promise<Started>,
  body: string,
): Promise<{ saturated: Measured; single: Load }> {
  let result!: { saturated: Measured; single: Load };
  await run(
    () => started,
    async (s) => {
      const peerUrl = `${s.url}/execute`;
      await saturate(peerUrl, body, CONNECTIONS, 2);
      result = {
        saturated: await saturated(s, peerUrl, body),
        single: await oneConnection(peerUrl, body, SECONDS / 2),
      };
    },
  );
  return result;
}

async function main(): Promise<void> {
  const out: string[] = [];
  const say = (...lines: string[]) => out.push(...lines);
  const dataDir = tempDataDir();
  const app = await benchApp(dataDir);
  const sandboxId = linkCopy(
    app,
    dataDir,
    `${app.id}-sandbox`,
    (c) => (c.execution = { ...(c.execution as object), in_process: false }),
  );
  const texts = inputs(app);
  const body = JSON.stringify({
    input: { text: 'Congratulations, you won a free cruise! Reply YES to claim.' },
  });
  const batchBody = JSON.stringify({ inputs: texts });
  const url = (s: Started, id: string, tail = '') => `${s.url}/loop-apps/${id}/execute${tail}`;
  console.error(`app: ${app.about}`);

  let bare!: Paths;
  await run(
    () => startBare(PORT),
    async (s) => void (bare = await paths(s, s.url, body)),
  );
  console.error('bare: done');
  let inProcess!: Paths;
  let sandbox!: Paths;
  let batchIn!: Load;
  let batchSandbox!: Load;
  await run(
    () => startLoopai(dataDir, PORT),
    async (s) => {
      inProcess = await paths(s, url(s, app.id), body);
      sandbox = await paths(s, url(s, sandboxId), body);
      await saturate(url(s, app.id, '/batch'), batchBody, CONNECTIONS, 2);
      batchIn = await saturate(url(s, app.id, '/batch'), batchBody, CONNECTIONS, SECONDS);
      await saturate(url(s, sandboxId, '/batch'), batchBody, CONNECTIONS, 2);
      batchSandbox = await saturate(url(s, sandboxId, '/batch'), batchBody, CONNECTIONS, SECONDS);
    },
  );
  console.error('loopai: done');
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-bench-profile-'));
  await run(
    () => startLoopai(dataDir, PORT, {}, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
    async (s) => {
      await saturate(url(s, app.id), body, CONNECTIONS, 2);
      await saturate(url(s, app.id), body, CONNECTIONS, SECONDS / 2);
    },
  );
  let workers2!: Measured;
  await run(
    () => startLoopai(dataDir, PORT, { LOOPAI_WORKERS: '2' }),
    async (s) => {
      await saturate(url(s, app.id), body, CONNECTIONS, 2);
      workers2 = await saturated(s, url(s, app.id), body);
    },
  );
  console.error('workers: done');
  const peerStart = startPeer(app.trainFile, PORT);
  const peer = typeof peerStart === 'string' ? peerStart : await measurePeer(peerStart, body);
  console.error('peer: done');
  const mem: Array<[number, { own: number; total: number }]> = [];
  for (const n of [1, 100, 1000]) mem.push([n, await memory(app, n)]);
  console.error('memory: done');
  const big = await scale(app);
  const weights = weightsKb(app);
  fs.rmSync(dataDir, { recursive: true, force: true });

  const ceiling = bare.saturated.rps;
  say(
    `execute benchmark: ${os.cpus().length} cores, Node ${process.version}, ${SECONDS} s per run; the app: ${app.about}`,
    '',
  );
  say(
    '| server, 32 connections | req/s | p50 ms | p99 ms | errors | vs bare | server CPU µs a request |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  const row = (name: string, l: Measured) =>
    say(
      `| ${name} | ${fmt(l.rps)} | ${l.p50} | ${l.p99} | ${l.errors} | ${fmt(l.rps / ceiling, 2)} × | ${fmt(l.cpuUs, 1)} |`,
    );
  row('bare node:http (the ceiling)', bare.saturated);
  row('execute, in process', inProcess.saturated);
  row('execute, sandbox (the same model, `in_process: false`)', sandbox.saturated);
  row('execute, in process, `workers: 2`', workers2);
  if (typeof peer === 'string') say(`| FastAPI + scikit-learn (${peer}) | | | | | | |`);
  else row('FastAPI + scikit-learn TF-IDF + LinearSVC, same rows', peer.saturated);
  say(
    '',
    `| server | p50 ms, 1 connection | p99 ms, 1 connection | p50 ms at ${fmt(RATE)} req/s | p99 ms at ${fmt(RATE)} req/s | errors |`,
    '|---|---:|---:|---:|---:|---:|',
  );
  const latency = (name: string, p: Paths) =>
    say(
      `| ${name} | ${ms(p.single.p50)} | ${ms(p.single.p99)} | ${ms(p.rate.p50)} | ${ms(p.rate.p99)} | ${p.single.errors + p.rate.errors} |`,
    );
  latency('bare node:http', bare);
  latency('execute, in process', inProcess);
  latency('execute, sandbox', sandbox);
  if (typeof peer !== 'string')
    say(
      `| FastAPI + scikit-learn | ${ms(peer.single.p50)} | ${ms(peer.single.p99)} | | | ${peer.single.errors} |`,
    );
  say(
    '',
    `| execute/batch, ${BATCH} inputs, 32 connections | batches/s | items/s | p99 ms | errors |`,
    '|---|---:|---:|---:|---:|',
  );
  for (const [name, l] of [
    ['in process', batchIn],
    ['sandbox', batchSandbox],
  ] as const)
    say(`| ${name} | ${fmt(l.rps)} | **${fmt(l.rps * BATCH)}** | ${l.p99} | ${l.errors} |`);
  say('', '| Loop Apps on disk (1 in use) | server RSS MB | with sandbox children MB |', '|---:|---:|---:|');
  for (const [n, m] of mem) say(`| ${fmt(n)} | ${fmt(m.own)} | ${fmt(m.total)} |`);
  const perApp = ((big.activeMb - big.idleMb) * 1024) / 1000;
  say('', '| 10,000 copies of the app on disk | measured | target |', '|---|---:|---:|');
  say(`| time to /ready | ${fmt(big.readyS, 1)} s | ≤ 5 s |`);
  say(`| RSS, idle | ${fmt(big.idleMb)} MB | ≤ 400 MB |`);
  say(
    `| first call of each of 1,000 apps, p50 / p99 | ${ms(big.coldP50)} / ${ms(big.coldP99)} ms | p50 ≤ 5 ms |`,
  );
  say(`| RSS with those 1,000 apps active | ${fmt(big.activeMb)} MB | |`);
  say(
    `| memory of an active app, against its weights file (${fmt(weights)} KB) | ${fmt(perApp)} KB = ${fmt(perApp / weights, 1)} × | ≤ 2 × |`,
  );
  say(
    '',
    `CPU profile of the server under ${CONNECTIONS} connections of in-process execute (self time, share of busy time):`,
    '',
    '| function | self |',
    '|---|---:|',
    ...topFunctions(profileDir, (SECONDS / 2) * 1000),
  );
  fs.rmSync(profileDir, { recursive: true, force: true });
  console.log(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
