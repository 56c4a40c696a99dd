import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { freePort, spawnServer } from './helpers/process';
import { call, eventually } from './helpers/server';

// Telemetry from two edges to their cloud, each a real server process: samples, counters and feedback arrive
// once, across an outage of the cloud and a kill -9 of an edge.

const ADMIN = 'admin-key-for-telemetry-test';
const EDGE = 'edge-key-for-telemetry-test';
const APP = 'sampled-app';
const admin = { authorization: `Bearer ${ADMIN}` };
const PROGRAM = `function execute(input) { return { result: /win/.test(input.text) ? 'spam' : 'ham', confidence: 0.9 }; }`;

type Server = { proc: ChildProcess; url: string; exited: Promise<number | null> };

/** Ids of the executions an edge logged as sampled (what the cloud must end up with, once each). */
function sampledAt(edgeDir: string): string[] {
  const dir = path.join(edgeDir, 'loop-apps', APP, 'datasets', 'executions');
  return fs
    .readdirSync(dir)
    .flatMap((name) => fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as { id: string; sampled?: boolean })
    .filter((r) => r.sampled)
    .map((r) => r.id);
}

/** Ids of the samples the cloud holds from `edge`, as it stored them. */
function receivedFrom(cloudDir: string, edge: string): string[] {
  const dir = path.join(cloudDir, 'loop-apps', APP, 'datasets', 'executions');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.includes(`.edge-${edge}.`))
    .flatMap((name) => fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as { id: string; sampled: boolean })
    .filter((r) => r.sampled)
    .map((r) => r.id);
}

const sorted = (ids: string[]) => [...ids].sort();

describe('telemetry from edges to the cloud', () => {
  const cloudDir = tmpDataDir();
  const edgeDirs = [tmpDataDir(), tmpDataDir()];
  const names = ['edge-a', 'edge-b'];
  const config = path.join(tmpDataDir(), 'loopai.yaml');
  let cloudPort: number;
  let cloud: Server;
  const edges: Server[] = [];
  const startCloud = () =>
    spawnServer(
      cloudDir,
      { LOOPAI_ROLE: 'cloud', LOOPAI_API_KEYS: `admin:${ADMIN},edge:${EDGE}` },
      { port: cloudPort },
    );
  const startEdge = (i: number) =>
    spawnServer(
      edgeDirs[i],
      {
        LOOPAI_ROLE: 'edge',
        LOOPAI_CLOUD_URL: `http://127.0.0.1:${cloudPort}`,
        LOOPAI_CLOUD_KEY: EDGE,
        LOOPAI_EDGE_NAME: names[i],
        LOOPAI_CONFIG: config,
      },
      { until: 'health' },
    );
  const run = (i: number, count: number, from = 0) =>
    Promise.all(
      Array.from({ length: count }, (_, k) =>
        call(edges[i].url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: `win ${from + k}` } }),
      ),
    );
  const stop = async (s: Server, signal: NodeJS.Signals = 'SIGTERM') => {
    s.proc.kill(signal);
    await s.exited;
  };

  beforeAll(async () => {
    fs.writeFileSync(
      config,
      'cloud:\n  retry_max_ms: 300\n  wait_s: 5\nedge:\n  telemetry_interval_ms: 100\n',
    );
    writeApp(cloudDir, APP, {
      config: spamConfig(APP, { sampling: { rate: 1 }, validation: { oracle: 'human' } }),
      versions: [{ 'program.js': PROGRAM }],
    });
    cloudPort = await freePort();
    cloud = await startCloud();
    for (const i of [0, 1]) edges.push(await startEdge(i));
    for (const edge of edges)
      await eventually(async () => expect((await call(edge.url, 'GET', '/ready')).status).toBe(200));
  }, 30_000);
  afterAll(async () => {
    await Promise.all([cloud, ...edges].map((s) => s.proc.exitCode === null && stop(s)));
  });

  test('samples reach the cloud once each, and its analytics count every edge', async () => {
    const answers = [...(await run(0, 20)), ...(await run(1, 15))];
    expect(answers.every((a) => a.status === 200 && a.body.sampled)).toBe(true);
    await eventually(async () => {
      const queue = await call(
        cloud.url,
        'GET',
        `/loop-apps/${APP}/review-queue?limit=1000`,
        undefined,
        admin,
      );
      expect(queue.body.total).toBe(35);
    });
    for (const i of [0, 1])
      expect(sorted(receivedFrom(cloudDir, names[i]))).toEqual(sorted(sampledAt(edgeDirs[i])));
    const analytics = await eventually(async () => {
      const res = await call(cloud.url, 'GET', `/loop-apps/${APP}/analytics`, undefined, admin);
      expect(res.body.summary.executions).toBe(35);
      return res.body;
    });
    expect(analytics.edges['edge-a'].executions).toBe(20);
    expect(analytics.edges['edge-b'].executions).toBe(15);
  });

  test('feedback given at an edge is judged at the cloud, once', async () => {
    const [answer] = await run(1, 1, 100);
    const sent = await call(edges[1].url, 'POST', `/loop-apps/${APP}/feedback`, {
      execution_id: answer.body.execution_id,
      expected_output: 'ham',
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ execution_id: answer.body.execution_id, queued: true });
    const verdicts = await eventually(async () => {
      const res = await call(cloud.url, 'GET', `/loop-apps/${APP}/validations`, undefined, admin);
      const mine = res.body.validations.filter((v: any) => v.execution_id === answer.body.execution_id);
      expect(mine).toHaveLength(1);
      return mine;
    });
    expect(verdicts[0]).toMatchObject({ oracle: 'human', correct: false, oracle_output: 'ham' });
  });

  test('while the cloud is down the edges spool; when it is back every sample arrives once', async () => {
    await stop(cloud);
    const answers = [...(await run(0, 25, 200)), ...(await run(1, 25, 200))];
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    await eventually(() =>
      expect(fs.readdirSync(path.join(edgeDirs[0], 'edge', 'spool')).length).toBeGreaterThan(0),
    );
    cloud = await startCloud();
    for (const i of [0, 1])
      await eventually(
        () => expect(sorted(receivedFrom(cloudDir, names[i]))).toEqual(sorted(sampledAt(edgeDirs[i]))),
        15_000,
      );
    await eventually(() => expect(fs.readdirSync(path.join(edgeDirs[0], 'edge', 'spool'))).toEqual([]));
  });

  test('an edge killed with kill -9 while it sends loses no sample it logged and duplicates none', async () => {
    const sending = run(0, 60, 300);
    await new Promise((r) => setTimeout(r, 150));
    await stop(edges[0], 'SIGKILL');
    await sending.catch(() => undefined);
    edges[0] = await startEdge(0);
    await eventually(() => {
      const received = receivedFrom(cloudDir, names[0]);
      expect(new Set(received).size).toBe(received.length);
      expect(sorted(received)).toEqual(sorted(sampledAt(edgeDirs[0])));
    }, 15_000);
  });
});
