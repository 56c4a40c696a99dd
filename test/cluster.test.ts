import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { spawnServer } from './helpers/process';
import { call, eventually } from './helpers/server';
import { startTeacher } from './helpers/teacher';

// `workers: 2`: two real server processes on one port behind Node's cluster primary, on one data dir.

const APP = 'spam';
const FIXED = (confidence: number) =>
  `function execute(input) { return { result: /win/.test(input.text) ? 'spam' : 'ham', confidence: ${confidence} }; }`;

/** The worker processes of the primary `pid` (Linux: their parent, read from /proc). */
function workersOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // it ended meanwhile
      }
    })
    .map(Number);
}

type Line = { id: string; ts: string; version: string; input: { text: string } };
function shards(dataDir: string): Map<string, Line[]> {
  const dir = path.join(dataDir, 'loop-apps', APP, 'datasets', 'executions');
  const out = new Map<string, Line[]>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [])
    out.set(
      name,
      fs
        .readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Line),
    );
  return out;
}

/** `count` executes, `concurrency` at a time, each on a connection of its own (so both workers take some). */
async function load(url: string, from: number, count: number, concurrency = 16) {
  const answers: Array<{ status: number; id?: string; version?: string }> = [];
  let next = from;
  const one = async (): Promise<void> => {
    while (next < from + count) {
      const text = `message ${next++} ${next % 2 ? 'win a prize' : 'see you'}`;
      try {
        const res = await fetch(`${url}/loop-apps/${APP}/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ input: { text } }),
        });
        const body = (await res.json()) as { execution_id?: string; version?: string };
        answers.push({ status: res.status, id: body.execution_id, version: body.version });
      } catch {
        answers.push({ status: 0 }); // no answer: refused or reset
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return answers;
}

describe('several workers on one port', () => {
  let dataDir: string;
  let server: { proc: ChildProcess; url: string; exited: Promise<number | null> };
  let teacher: Awaited<ReturnType<typeof startTeacher>>;
  const answered: Array<{ status: number; id?: string; version?: string }> = [];

  beforeAll(async () => {
    teacher = await startTeacher();
    dataDir = tmpDataDir();
    writeApp(dataDir, APP, {
      config: spamConfig(APP, {
        sampling: { rate: 1, strategy: 'random' },
        validation: {
          oracle: 'http',
          http: { url: teacher.url, timeout_ms: 2000 },
          schedule: '* * * * * *', // every second: two schedulers would ask the teacher twice
          min_samples: 100000,
          daily_oracle_cap: 100000,
        },
        improvement: { auto: false },
      }),
      versions: [{ 'program.js': FIXED(0.61) }, { 'program.js': FIXED(0.62) }],
      active: 'v1',
    });
    server = await spawnServer(dataDir, { LOOPAI_WORKERS: '2' });
    await eventually(() => expect(workersOf(server.proc.pid!)).toHaveLength(2), 20_000, 100);
  }, 40_000);

  afterAll(async () => {
    server.proc.kill('SIGKILL');
    await teacher.close();
  });

  test('both workers serve under load, each into a shard of its own', async () => {
    answered.push(...(await load(server.url, 0, 600)));
    expect(answered.every((a) => a.status === 200 && a.version === 'v1')).toBe(true);
    await eventually(() => {
      const names = [...shards(dataDir).keys()];
      expect(names).toHaveLength(2);
      expect(names.every((name) => /^\d{4}-\d{2}-\d{2}\.[12]\.jsonl$/.test(name))).toBe(true);
    });
  });

  test('GET …/executions reads the shards of a day together, newest first', async () => {
    await new Promise((r) => setTimeout(r, 500)); // past a flush interval
    const all = [...shards(dataDir).values()].flat();
    const newest = all
      .sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.id < b.id ? 1 : -1))
      .slice(0, 50);
    const listed = await call(server.url, 'GET', `/loop-apps/${APP}/executions?limit=50`);
    expect(listed.status).toBe(200);
    expect(listed.body.executions.map((e: Line) => e.id)).toEqual(newest.map((l) => l.id));
  });

  test('validation runs in one process only: each sampled execution is asked of the teacher once', async () => {
    await eventually(() => expect(teacher.inputs.length).toBeGreaterThanOrEqual(600), 25_000, 250);
    await new Promise((r) => setTimeout(r, 2_500)); // two more schedules: a second validator would ask again
    const texts = teacher.inputs.map((input) => (input as { text: string }).text);
    expect(texts).toHaveLength(600);
    expect(new Set(texts).size).toBe(600);
  }, 40_000);

  test('an activation through either worker is served by both before its answer returns', async () => {
    const activated = await call(server.url, 'POST', `/loop-apps/${APP}/versions/v2/activate`, {});
    expect(activated.status).toBe(200);
    const since = new Date().toISOString();
    // at once, on fresh connections: no time for the other worker's file watcher to have seen the flip
    const first = await load(server.url, 9_000, 32, 16);
    answered.push(...first);
    expect(first.map((a) => a.version)).toEqual(Array(32).fill('v2'));
    await eventually(
      async () => {
        const answers = await load(server.url, 10_000 + answered.length, 32, 16);
        answered.push(...answers);
        expect(answers.every((a) => a.status === 200 && a.version === 'v2')).toBe(true);
        const after = [...shards(dataDir).values()].map((lines) => lines.filter((l) => l.ts > since));
        expect(after.every((lines) => lines.length > 0 && lines.every((l) => l.version === 'v2'))).toBe(true);
      },
      15_000,
      300,
    );
  }, 30_000);

  test("the leader's socket for the other workers is in a folder only this user can enter", () => {
    const environ = fs.readFileSync(`/proc/${workersOf(server.proc.pid!)[0]}/environ`, 'utf8').split('\0');
    const socket = environ.find((kv) => kv.startsWith('LOOPAI_LEADER_SOCKET='))!.split('=')[1];
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
  });

  test('a worker killed with -9 is replaced while the other keeps answering', async () => {
    await new Promise((r) => setTimeout(r, 500)); // past a flush interval: the killed worker holds no lines
    const before = workersOf(server.proc.pid!);
    process.kill(before[0], 'SIGKILL');
    const during = await load(server.url, 20_000, 100, 4);
    answered.push(...during);
    expect(during.every((a) => a.status === 200)).toBe(true);
    await eventually(
      () => {
        const now = workersOf(server.proc.pid!);
        expect(now).toHaveLength(2);
        expect(now).not.toContain(before[0]);
      },
      20_000,
      100,
    );
  }, 40_000);

  test('SIGTERM drains both workers and flushes every shard: no execution line lost or duplicated', async () => {
    const inFlight = load(server.url, 30_000, 200, 8);
    await new Promise((r) => setTimeout(r, 50));
    server.proc.kill('SIGTERM');
    answered.push(...(await inFlight)); // requests after the stop began may be refused: they are not logged

    expect(await server.exited).toBe(0);
    expect(workersOf(server.proc.pid!)).toHaveLength(0);

    const logged = [...shards(dataDir).values()].flat().map((l) => l.id);
    const ok = answered.filter((a) => a.status === 200).map((a) => a.id);
    expect(new Set(logged).size).toBe(logged.length);
    expect(new Set(logged)).toEqual(new Set(ok));
  }, 40_000);
});
