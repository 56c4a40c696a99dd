import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../src/logger';
import type { RunningServer } from '../../src/server';
import { AppWatcher } from '../../src/watch/watcher';
import { flipActive, tmpDataDir, writeApp } from '../helpers/apps';
import { call, eventually, startTestServer } from '../helpers/server';

const answer = (label: string, confidence = 1) =>
  `function execute() { return { result: '${label}', confidence: ${confidence} }; }`;

/** Targets a person might give `active` by hand that do not name a version folder of the app itself. */
const BAD_TARGETS: Array<[string, RegExp]> = [
  ['/etc', /points to "\/etc", which is not a version name/],
  ['v01', /points to "v01", which is not a version name/],
  ['v999999999999', /points to "v999999999999", which is not a version name/],
  ['active', /points to "active", which is not a version name/], // a link to itself: a loop
  ['v77', /points to v77, which does not exist/], // dangling
  [
    '../../other-app/artifacts/v1',
    /points to "\.\.\/\.\.\/other-app\/artifacts\/v1", which is not a version/,
  ],
  ['v3', /points to v3, which is a symlink/], // v3 is a link to the other app's v1
];

describe('hand edits of `active`', () => {
  let dataDir: string;
  const artifacts = (id: string) => path.join(dataDir, 'loop-apps', id, 'artifacts');
  /** A started watcher of the apps, and the ids it reloaded, in order. */
  async function watching() {
    const reloads: string[] = [];
    const watcher = new AppWatcher(
      path.join(dataDir, 'loop-apps'),
      async (id) => void reloads.push(id),
      silentLogger(),
      20,
    );
    await watcher.start();
    return { watcher, reloads };
  }

  beforeEach(() => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'link-app', {
      versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
      active: 'v2',
    });
    writeApp(dataDir, 'other-app', { versions: [{ 'program.js': answer('spam', 0.123) }] });
    fs.symlinkSync('../../other-app/artifacts/v1', path.join(artifacts('link-app'), 'v3'));
  });

  test('the watcher sees every replacement of the link: dangling, a loop, outside the app, and each flip back', async () => {
    const { watcher, reloads } = await watching();
    try {
      for (const [target] of BAD_TARGETS) {
        for (const next of [target, 'v2']) {
          const seen = reloads.length;
          flipActive(dataDir, 'link-app', next);
          await eventually(() =>
            expect({ next, seen: reloads.slice(seen).includes('link-app') }).toEqual({ next, seen: true }),
          );
          await new Promise((r) => setTimeout(r, 150)); // late events of this change are not taken for the next
        }
      }
    } finally {
      await watcher.close();
    }
  });

  test('the watcher never watches through a symlink: a folder outside the apps reached by a link stays unwatched', async () => {
    const outside = tmpDataDir();
    fs.mkdirSync(path.join(outside, 'v1'));
    writeApp(dataDir, 'linked-app', { versions: [] });
    fs.rmSync(artifacts('linked-app'), { recursive: true });
    fs.symlinkSync(outside, artifacts('linked-app')); // artifacts -> a folder elsewhere
    const { watcher, reloads } = await watching();
    try {
      fs.writeFileSync(path.join(outside, 'v1', 'program.js'), answer('spam'));
      fs.symlinkSync('v1', path.join(outside, 'active'));
      fs.mkdirSync(path.join(outside, 'v2'));
      // the watched folders around it are live: an edit of the app's config is seen
      await new Promise((r) => setTimeout(r, 300));
      expect(reloads).toEqual([]);
      fs.appendFileSync(path.join(dataDir, 'loop-apps', 'linked-app', 'config.yaml'), '# edited\n');
      await eventually(() => expect(reloads).toEqual(['linked-app']));
    } finally {
      await watcher.close();
    }
  });

  describe('served', () => {
    let server: RunningServer;
    const exec = () => call(server.url, 'POST', '/loop-apps/link-app/execute', { input: { text: 'hi' } });
    const loadError = async () => (await call(server.url, 'GET', '/loop-apps/link-app')).body.load_error;

    beforeEach(async () => {
      server = await startTestServer(dataDir);
      expect((await exec()).body).toMatchObject({ version: 'v2', output: 'spam' });
    });
    afterEach(() => server.close());

    test('a link that does not name a version folder of the app is a load error; v2 keeps serving', async () => {
      for (const [target, why] of BAD_TARGETS) {
        flipActive(dataDir, 'link-app', target);
        await eventually(async () =>
          expect({ target, error: await loadError() }).toEqual({ target, error: expect.stringMatching(why) }),
        );
        expect((await exec()).body).toMatchObject({ version: 'v2', output: 'spam', confidence: 1 });
        flipActive(dataDir, 'link-app', 'v2');
        await eventually(async () =>
          expect({ target, error: await loadError() }).toEqual({ target, error: null }),
        );
      }
    });

    test('a plain file in place of the link is a load error too', async () => {
      const link = path.join(artifacts('link-app'), 'active');
      fs.writeFileSync(`${link}.new`, 'v1');
      fs.renameSync(`${link}.new`, link);
      await eventually(async () => expect(await loadError()).toMatch(/artifacts\/active is not a symlink/));
      expect((await exec()).body).toMatchObject({ version: 'v2', output: 'spam' });
    });

    test('a version folder that is a symlink is no version of the app', async () => {
      const listed = await call(server.url, 'GET', '/loop-apps/link-app/versions');
      expect(listed.body.versions.map((v: { version: string }) => v.version)).toEqual(['v1', 'v2']);
      const activated = await call(server.url, 'POST', '/loop-apps/link-app/versions/v3/activate');
      expect(activated.status).toBe(404);
      expect(fs.readlinkSync(path.join(artifacts('link-app'), 'active'))).toBe('v2');
      // its name is taken all the same: the next version written is v4
      const uploaded = await call(server.url, 'POST', '/loop-apps/link-app/versions', {
        code: answer('ham'),
      });
      expect([uploaded.status, uploaded.body.version]).toEqual([201, 'v4']);
    });
  });
});
