/** The processes the execute bench measures: each server is a process of its own, driven over loopback. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const PEER = path.join(ROOT, 'bench', 'peer', 'fastapi_peer.py');
const PYTHON = '/usr/bin/python3';

export interface Started {
  proc: ChildProcess;
  url: string;
  /** Milliseconds from spawn until it answered. */
  readyMs: number;
}

async function waitFor(proc: ChildProcess, url: string, started: number): Promise<number> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${url}: the process exited with ${proc.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 300_000) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, url: string): Promise<Started> {
  const began = performance.now();
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return { proc, url: url.replace(/\/(ready|docs)$/, ''), readyMs: await waitFor(proc, url, began) };
}

const BARE_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ execution_id: '00000000-0000-0000-0000-000000000000', loop_app_id: 'spam', version: 'v1', output: 'spam', confidence: 0.97, latency_ms: 0.05, sampled: false });
http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }); }).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** A bare node:http server answering a constant JSON body: the ceiling of this machine. */
export const startBare = (port: number) =>
  start(process.execPath, ['-e', BARE_SERVER], { PORT: String(port) }, `http://127.0.0.1:${port}`);

/** `loopai serve` on `dataDir`; `nodeArgs` go to node itself (a CPU profile, say). */
export const startLoopai = (
  dataDir: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
) =>
  start(
    process.execPath,
    [...nodeArgs, MAIN],
    { LOOPAI_DATA_DIR: dataDir, LOOPAI_PORT: String(port), LOOPAI_LOG_LEVEL: 'warn', ...env },
    `http://127.0.0.1:${port}/ready`,
  );

/** The FastAPI + scikit-learn peer trained on `trainFile`, or why it cannot run here. */
export function startPeer(trainFile: string, port: number): Promise<Started> | string {
  try {
    execFileSync(PYTHON, ['-c', 'import fastapi, uvicorn, sklearn'], { stdio: 'ignore' });
  } catch {
    return 'not run: apt-get install -y python3-fastapi python3-uvicorn python3-sklearn';
  }
  return start(
    PYTHON,
    [PEER, '--train', trainFile, '--port', String(port)],
    {},
    `http://127.0.0.1:${port}/docs`,
  );
}

export async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill(signal);
  await exited;
}

/** Every process of the tree under `pid` (itself first): the sandbox children and workers of a server. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const all: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    all.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return all;
}

/** A field of /proc/PID/status in MB (VmRSS), 0 for a process that ended. */
function statusMb(pid: number, field: string): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Resident memory in MB of a process alone and with all its descendants (sandbox children, workers). */
export function treeRssMb(pid: number): { own: number; total: number } {
  const sizes = tree(pid).map((p) => statusMb(p, 'VmRSS'));
  return { own: sizes[0], total: sizes.reduce((a, b) => a + b, 0) };
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** CPU time (user + system) the process tree under `pid` has used so far, in µs. */
export function treeCpuUs(pid: number): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const fields = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the process ended while we looked
    }
  }
  return ticks * TICK_US;
}
