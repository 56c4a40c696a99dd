import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { CLI, run } from './helpers/cli';
import { spawnServer } from './helpers/process';
import { call, startTestServer } from './helpers/server';

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
});
