import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { CLI, run } from './helpers/cli';
import { freePort, spawnServer } from './helpers/process';
import { call, eventually, startTestServer } from './helpers/server';

// Offline bundles: `loopai export` from a server that learns, an edge started from one with no cloud at all, and
// `loopai import` of a newer one; a bundle that lies is refused whole.

const APP = 'bundled-app';
const program = (answer: string) =>
  `function execute(input) { return { result: '${answer}', confidence: 0.8 }; }`;
const node = process.execPath;

describe('offline bundles', () => {
  let source: RunningServer;
  const dir = tmpDataDir();
  const out = (name: string) => path.join(dir, name);
  const cli = (url: string, ...args: string[]) => run(node, [CLI, '--url', url, ...args]);

  beforeAll(async () => {
    const data = tmpDataDir();
    writeApp(data, APP, {
      config: spamConfig(APP, { sampling: { rate: 0 } }),
      versions: [{ 'program.js': program('ham') }, { 'program.js': program('spam') }],
      active: 'v1',
    });
    source = await startTestServer(data);
  });
  afterAll(() => source.close());

  test('an edge with no cloud serves what a bundle holds, and a newer bundle imported later', async () => {
    const first = await cli(source.url, 'export', APP, '--out', out('first.tar.gz'));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const edgeDir = tmpDataDir();
    const edge = await spawnServer(edgeDir, { LOOPAI_ROLE: 'edge', LOOPAI_BUNDLE: out('first.tar.gz') });
    try {
      const answer = await call(edge.url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: 'hi' } });
      expect(answer.body).toMatchObject({ version: 'v1', output: 'ham' });
      expect((await call(edge.url, 'GET', '/ready')).body).toEqual({ ready: true, sync: 'synced' });

      await call(source.url, 'POST', `/loop-apps/${APP}/versions/v2/activate`);
      expect((await cli(source.url, 'export', APP, '--out', out('second.tar.gz'))).code).toBe(0);
      const imported = await cli(edge.url, 'import', out('second.tar.gz'));
      expect(imported.stdout).toContain(`${APP}: synced v2`);
      const later = await call(edge.url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: 'hi' } });
      expect(later.body).toMatchObject({ version: 'v2', output: 'spam' });
      // other writes are still the cloud's
      expect((await call(edge.url, 'POST', `/loop-apps/${APP}/pause`)).body.error.code).toBe(
        'edge_read_only',
      );
    } finally {
      edge.proc.kill('SIGTERM');
      await edge.exited;
    }
  });

  describe('a bundle that lies', () => {
    let edge: RunningServer;
    beforeAll(async () => {
      expect((await cli(source.url, 'export', APP, '--out', out('good.tar.gz'))).code).toBe(0);
      edge = await startTestServer(tmpDataDir(), {
        role: 'edge',
        edge: { bundle: out('good.tar.gz') } as never,
      });
    });
    afterAll(() => edge.close());

    /** Repacks the good bundle after `change` has had its way with the unpacked files. */
    const repacked = async (name: string, change: (root: string) => string[] | void) => {
      const root = fs.mkdtempSync(path.join(dir, 'unpacked-'));
      await tar.extract({ file: out('good.tar.gz'), cwd: root });
      const extra = change(root) ?? [];
      // preservePaths: entries named as given, `../` and all
      await tar.create({ gzip: true, file: out(name), cwd: root, preservePaths: true }, [
        ...fs.readdirSync(root),
        ...extra,
      ]);
      return out(name);
    };
    const send = (file: string) =>
      fetch(`${edge.url}/bundle`, {
        method: 'POST',
        headers: { 'content-type': 'application/gzip' },
        body: fs.readFileSync(file),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const blobOf = (root: string) => path.join(root, 'blobs', fs.readdirSync(path.join(root, 'blobs'))[0]);
    const servesV2 = async () =>
      expect(
        (await call(edge.url, 'POST', `/loop-apps/${APP}/execute`, { input: { text: 'x' } })).body,
      ).toMatchObject({
        output: 'spam',
      });

    test('a file with other bytes than its digest is not served', async () => {
      await servesV2();
      const file = await repacked('tampered.tar.gz', (root) => {
        const manifest = JSON.parse(fs.readFileSync(path.join(root, 'manifest.json'), 'utf8'));
        manifest.apps[0].active_version = 'v3';
        manifest.apps[0].versions = { v3: manifest.apps[0].versions.v2 };
        fs.writeFileSync(path.join(root, 'manifest.json'), JSON.stringify(manifest));
        const blob = blobOf(root);
        fs.writeFileSync(blob, fs.readFileSync(blob, 'utf8').replace('spam', 'SPAM'));
      });
      const res = await send(file);
      expect(res.status).toBe(200);
      expect(res.body.apps[0]).toMatchObject({
        loop_app_id: APP,
        state: 'failed',
        error: expect.stringMatching(/sha256/),
      });
      await servesV2();
    });

    test.each([
      [
        'a path that climbs out',
        (root: string) => {
          fs.writeFileSync(path.join(root, '..', 'escape.txt'), 'x');
          return ['../escape.txt'];
        },
      ],
      [
        'a symlink',
        (root: string) => fs.symlinkSync('/etc/passwd', path.join(root, 'blobs', 'a'.repeat(64))),
      ],
      ['no manifest', (root: string) => fs.rmSync(path.join(root, 'manifest.json'))],
      [
        'a manifest that is not one',
        (root: string) => fs.writeFileSync(path.join(root, 'manifest.json'), '{"apps": 3}'),
      ],
    ] as Array<[string, (root: string) => string[] | void]>)(
      'a bundle with %s is refused whole',
      async (_name, change) => {
        const file = await repacked(`bad-${_name.replace(/\W+/g, '-')}.tar.gz`, change);
        const res = await send(file);
        expect(res.status).toBe(400);
        await servesV2();
      },
    );

    test('what is not a gzip at all is a 400', async () => {
      fs.writeFileSync(out('junk.tar.gz'), 'this is not a bundle');
      expect((await send(out('junk.tar.gz'))).status).toBe(400);
    });
  });

  test("an edge's spool holds at most spool_max_mb while its cloud is away: the oldest batches go, counted", async () => {
    const sampled = tmpDataDir();
    writeApp(sampled, 'all-sampled', {
      config: spamConfig('all-sampled', { sampling: { rate: 1, strategy: 'random' } }),
      versions: [{ 'program.js': program('ham') }],
    });
    const learner = await startTestServer(sampled);
    try {
      expect((await cli(learner.url, 'export', 'all-sampled', '--out', out('sampled.tar.gz'))).code).toBe(0);
    } finally {
      await learner.close();
    }
    const edgeDir = tmpDataDir();
    const edge = await startTestServer(edgeDir, {
      role: 'edge',
      // a cloud that is not there: everything the edge samples stays in its spool
      cloud: { url: `http://127.0.0.1:${await freePort()}`, retry_max_ms: 200, wait_s: 1 },
      edge: { name: 'spooling', spool_max_mb: 1, telemetry_interval_ms: 50, bundle: out('sampled.tar.gz') },
    });
    try {
      const text = 'a message long enough to take some room in the spool '.repeat(4);
      for (let batch = 0; batch < 6; batch++) {
        const inputs = Array.from({ length: 1000 }, (_, i) => ({ text: `${batch}-${i} ${text}` }));
        expect(
          (await call(edge.url, 'POST', '/loop-apps/all-sampled/execute/batch', { inputs })).status,
        ).toBe(200);
      }
      const spool = path.join(edgeDir, 'edge', 'spool');
      const dropped = await eventually(async () => {
        const metrics = (await call(edge.url, 'GET', '/metrics')).body as string;
        const value = Number(/loopai_edge_spool_dropped_total\{why="full"\} (\d+)/.exec(metrics)?.[1] ?? 0);
        expect(value).toBeGreaterThan(0);
        return value;
      }, 15_000);
      const bytes = fs.readdirSync(spool).reduce((n, f) => n + fs.statSync(path.join(spool, f)).size, 0);
      expect(bytes).toBeLessThanOrEqual(1024 * 1024);
      expect(bytes).toBeGreaterThan(0);
      expect(dropped).toBeGreaterThan(0);
    } finally {
      await edge.close();
    }
  }, 30_000);
});
