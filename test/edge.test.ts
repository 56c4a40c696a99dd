import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { freePort, spawnServer } from './helpers/process';
import { call, eventually } from './helpers/server';

// A cloud and two edges, each a real server process with a data directory of its own, on loopback.

const ADMIN = 'admin-key-for-the-edge-test';
const EDGE = 'edge-key-for-the-edge-test';
const APP = 'edge-spam';
const program = (confidence: number) =>
  `function execute(input) { return { result: /win/.test(input.text) ? 'spam' : 'ham', confidence: ${confidence} }; }`;
const admin = { authorization: `Bearer ${ADMIN}` };

type Server = { proc: ChildProcess; url: string; exited: Promise<number | null> };

/** Settings of a quick edge: short long-polls, short pauses when the cloud is away. */
function edgeSettings(): string {
  const file = path.join(tmpDataDir(), 'loopai.yaml');
  fs.writeFileSync(file, 'cloud:\n  retry_max_ms: 400\n  wait_s: 5\n');
  return file;
}

const execute = (url: string, text = 'win a prize') =>
  call(url, 'POST', `/loop-apps/${APP}/execute`, { input: { text } });

async function stop(server: Server): Promise<void> {
  server.proc.kill('SIGTERM');
  await server.exited;
}

describe('cloud and edges', () => {
  const cloudDir = tmpDataDir();
  const edgeDirs = [tmpDataDir(), tmpDataDir()];
  const config = edgeSettings();
  let cloudPort: number;
  let cloud: Server;
  let edges: Server[] = [];
  const startCloud = () =>
    spawnServer(
      cloudDir,
      { LOOPAI_ROLE: 'cloud', LOOPAI_API_KEYS: `admin:${ADMIN},edge:${EDGE}` },
      { port: cloudPort },
    );
  const startEdge = (dir: string, key = EDGE, log?: string[]) =>
    spawnServer(
      dir,
      {
        LOOPAI_ROLE: 'edge',
        LOOPAI_CLOUD_URL: `http://127.0.0.1:${cloudPort}`,
        LOOPAI_CLOUD_KEY: key,
        LOOPAI_CONFIG: config,
      },
      { until: 'health', log },
    );
  const servedVersion = async (url: string) => {
    const res = await execute(url);
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    return res.body.version as string;
  };

  beforeAll(async () => {
    writeApp(cloudDir, APP, {
      config: spamConfig(APP, { sampling: { rate: 0 } }),
      versions: [{ 'program.js': program(0.6) }],
    });
    cloudPort = await freePort();
    cloud = await startCloud();
    edges = await Promise.all(edgeDirs.map((dir) => startEdge(dir)));
  }, 30_000);
  afterAll(async () => {
    await Promise.all([cloud, ...edges].map((s) => s.proc.exitCode === null && stop(s)));
  });

  test('both edges sync what the cloud serves, and say so', async () => {
    for (const edge of edges) {
      await eventually(async () => expect(await servedVersion(edge.url)).toBe('v1'));
      const ready = await call(edge.url, 'GET', '/ready');
      expect(ready.body).toEqual({ ready: true, sync: 'synced' });
      const detail = await call(edge.url, 'GET', `/loop-apps/${APP}`);
      expect(detail.body.sync).toMatchObject({ state: 'synced', version: 'v1', error: null });
    }
    const edgeProgram = path.join(edgeDirs[0], 'loop-apps', APP, 'artifacts', 'v1', 'program.js');
    expect(fs.readFileSync(edgeProgram, 'utf8')).toBe(program(0.6));
    expect(fs.readlinkSync(path.join(edgeDirs[0], 'loop-apps', APP, 'artifacts', 'active'))).toBe('v1');
  });

  test('an activation on the cloud is served by both edges', async () => {
    const uploaded = await call(
      cloud.url,
      'POST',
      `/loop-apps/${APP}/versions`,
      { code: program(0.8) },
      admin,
    );
    expect(uploaded.status).toBe(201);
    const activated = await call(
      cloud.url,
      'POST',
      `/loop-apps/${APP}/versions/v2/activate`,
      undefined,
      admin,
    );
    expect(activated.status).toBe(200);
    for (const edge of edges)
      await eventually(async () => expect(await servedVersion(edge.url)).toBe('v2'), 5000, 20);
    expect((await execute(edges[1].url)).body.confidence).toBe(0.8);
  });

  test('an edge refuses writes and names its cloud; an edge key may not execute or administer the cloud', async () => {
    const write = await call(edges[0].url, 'POST', `/loop-apps/${APP}/pause`);
    expect(write.status).toBe(409);
    expect(write.body.error.code).toBe('edge_read_only');
    expect(write.body.error.message).toContain(`http://127.0.0.1:${cloudPort}`);
    const edgeKey = { authorization: `Bearer ${EDGE}` };
    expect((await call(cloud.url, 'GET', '/loop-apps', undefined, edgeKey)).status).toBe(403);
    const run = await call(cloud.url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: 'x' } }, edgeKey);
    expect(run.status).toBe(403);
  });

  test('with the cloud down the edges answer every request; one restarted meanwhile serves its last synced state', async () => {
    await stop(cloud);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => execute(edges[i % 2].url, `message ${i}`)),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    await stop(edges[0]);
    edges[0] = await startEdge(edgeDirs[0]);
    expect((await call(edges[0].url, 'GET', '/ready')).status).toBe(200);
    expect(await servedVersion(edges[0].url)).toBe('v2');
  });

  test('when the cloud is back, the edges follow it again', async () => {
    cloud = await startCloud();
    const back = await call(cloud.url, 'POST', `/loop-apps/${APP}/rollback`, undefined, admin);
    expect(back.status).toBe(200);
    for (const edge of edges)
      await eventually(async () => expect(await servedVersion(edge.url)).toBe('v1'), 8000);
  });

  test('a wrong key stops the sync with a clear log line; with nothing synced, execute is 503 not_synced', async () => {
    const log: string[] = [];
    const edge = await startEdge(tmpDataDir(), 'not-the-edge-key-at-all', log);
    try {
      await eventually(() => expect(log.join('\n')).toMatch(/refused the edge key \(401\)/));
      const ready = await call(edge.url, 'GET', '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ ready: false, sync: 'refused' });
      const run = await execute(edge.url);
      expect(run.status).toBe(503);
      expect(run.body.error.code).toBe('not_synced');
      await new Promise((r) => setTimeout(r, 1000));
      expect(log.filter((line) => line.includes('refused the edge key'))).toHaveLength(1);
    } finally {
      await stop(edge);
    }
  });
});
