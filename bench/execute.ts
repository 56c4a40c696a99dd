/**
 * `npm run bench:execute`: the execute hot path against the ceiling of this machine, in one run.
 * - a bare node:http server answering a constant JSON body (the baseline)
 * - POST /loop-apps/spam-detector-001/execute with execution logging on
 * - the batch endpoint in items/s
 * - server memory with 1, 100 and 1,000 Loop Apps on disk (one in use)
 * Servers run as their own processes; autocannon drives them over loopback from this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const EXAMPLE = path.join(ROOT, 'loopai-data', 'loop-apps', 'spam-detector-001');
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const BODY = JSON.stringify({
  input: { text: 'Congratulations, you won a free cruise! Reply YES to claim.', sender: 'promo@win.example' },
});

const BARE_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ execution_id: '00000000-0000-0000-0000-000000000000', loop_app_id: 'spam-detector-001', version: 'v1', output: 'spam', confidence: 0.97, latency_ms: 0.05, sampled: false });
http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }); }).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Started {
  proc: ChildProcess;
  url: string;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function startBare(port: number): Promise<Started> {
  const proc = spawn(process.execPath, ['-e', BARE_SERVER], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url);
  return { proc, url };
}

async function startLoopai(dataDir: string, port: number): Promise<Started> {
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      LOOPAI_DATA_DIR: dataDir,
      LOOPAI_PORT: String(port),
      LOOPAI_LOG_LEVEL: 'warn',
      LOOPAI_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/ready`);
  return { proc, url };
}

async function stop(s: Started): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
}

function dataDirWith(apps: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-bench-'));
  const appsDir = path.join(dir, 'loop-apps');
  fs.mkdirSync(appsDir);
  fs.cpSync(EXAMPLE, path.join(appsDir, 'spam-detector-001'), { recursive: true, verbatimSymlinks: true });
  for (let i = 1; i < apps; i++) {
    const id = `spam-copy-${String(i).padStart(4, '0')}`;
    fs.cpSync(EXAMPLE, path.join(appsDir, id), { recursive: true, verbatimSymlinks: true });
    const config = path.join(appsDir, id, 'config.yaml');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('spam-detector-001', id));
  }
  return dir;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, body: string, opts: { rate?: number } = {}): Promise<Load> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: opts.rate ? 8 : CONNECTIONS,
    duration: DURATION,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/** Resident memory of a process and all its descendants (the sandbox children count too). */
function treeRssMb(pid: number): { server: number; total: number } {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return { server: rss.get(pid) ?? 0, total };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(EXAMPLE, 'artifacts', 'active')))
    throw new Error(`no bundled example app at ${EXAMPLE}`);
  console.log(
    `execute benchmark: ${os.cpus().length} cores, Node ${process.version}, ${DURATION} s per run, ${CONNECTIONS} connections\n`,
  );

  const bare = await startBare(18081);
  const bareMax = await load(bare.url, BODY);
  const bareRate = await load(bare.url, BODY, { rate: 1000 });
  await stop(bare);

  const dir = dataDirWith(1);
  const loopai = await startLoopai(dir, 18082);
  const execUrl = `${loopai.url}/loop-apps/spam-detector-001/execute`;
  await load(execUrl, BODY, {}); // warm-up: JIT, sandbox load
  const execMax = await load(execUrl, BODY);
  const execRate = await load(execUrl, BODY, { rate: 1000 });
  const batchSize = 100;
  const batchBody = JSON.stringify({
    inputs: Array.from({ length: batchSize }, (_, i) => ({ text: `message number ${i}: win a prize now` })),
  });
  const batch = await load(`${execUrl}/batch`, batchBody);
  await stop(loopai);
  const logged = fs
    .readdirSync(path.join(dir, 'loop-apps', 'spam-detector-001', 'datasets', 'executions'))
    .reduce(
      (n, f) =>
        n +
        fs
          .readFileSync(path.join(dir, 'loop-apps', 'spam-detector-001', 'datasets', 'executions', f), 'utf8')
          .split('\n').length -
        1,
      0,
    );
  fs.rmSync(dir, { recursive: true, force: true });

  const memory: Array<{ apps: number; server: number; total: number }> = [];
  for (const apps of [1, 100, 1000]) {
    const d = dataDirWith(apps);
    const s = await startLoopai(d, 18083);
    for (let i = 0; i < 200; i++) {
      await fetch(`${s.url}/loop-apps/spam-detector-001/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
    }
    memory.push({ apps, ...treeRssMb(s.proc.pid!) });
    await stop(s);
    fs.rmSync(d, { recursive: true, force: true });
  }

  console.log('| run | req/s | p50 ms | p99 ms | errors | vs bare req/s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const row = (name: string, r: Load, base: Load) =>
    console.log(
      `| ${name} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${fmt((r.rps / base.rps) * 100, 1)} % |`,
    );
  row(`bare node:http, ${CONNECTIONS} connections`, bareMax, bareMax);
  row(`execute, ${CONNECTIONS} connections`, execMax, bareMax);
  row('bare node:http, fixed 1,000 req/s', bareRate, bareRate);
  row('execute, fixed 1,000 req/s', execRate, bareRate);
  console.log(
    `| execute/batch (${batchSize} items), ${CONNECTIONS} connections | ${fmt(batch.rps)} batches/s = **${fmt(batch.rps * batchSize)} items/s** | ${batch.p50} | ${batch.p99} | ${batch.errors} | |`,
  );
  console.log(`\nexecution log lines written during the runs: ${fmt(logged)}\n`);
  console.log('| Loop Apps on disk (1 in use) | server RSS MB | server + sandbox children RSS MB |');
  console.log('|---:|---:|---:|');
  for (const m of memory) console.log(`| ${fmt(m.apps)} | ${fmt(m.server)} | ${fmt(m.total)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
