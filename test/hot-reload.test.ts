import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { flipActive, spamConfig, tmpDataDir, writeApp, writeVersion } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

const answer = (label: string) => `function execute(input) { return { result: '${label}', confidence: 1 }; }`;

describe('hot reload of hand-made changes on disk', () => {
  let server: RunningServer;
  let dataDir: string;
  const exec = (id: string, text = 'hello') =>
    call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text } });
  const appDir = (id: string) => path.join(dataDir, 'loop-apps', id);

  beforeAll(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'steady-app', { versions: [{ 'program.js': answer('ham') }] });
    server = await startTestServer(dataDir);
    expect((await exec('steady-app')).body.output).toBe('ham');
  });
  afterAll(() => server.close());

  test('a new app folder is served without a restart', async () => {
    writeApp(dataDir, 'late-app', { versions: [{ 'program.js': answer('spam') }] });
    await eventually(async () => expect((await exec('late-app')).body.output).toBe('spam'));
  });

  test('a new version folder and an `active` flip are picked up', async () => {
    writeVersion(dataDir, 'steady-app', 'v2', { 'program.js': answer('spam') });
    flipActive(dataDir, 'steady-app', 'v2');
    await eventually(async () =>
      expect((await exec('steady-app')).body).toMatchObject({ version: 'v2', output: 'spam' }),
    );
  });

  test('an in-place edit of program.js is picked up', async () => {
    fs.writeFileSync(path.join(appDir('steady-app'), 'artifacts', 'v2', 'program.js'), answer('ham'));
    await eventually(async () =>
      expect((await exec('steady-app')).body).toMatchObject({ version: 'v2', output: 'ham' }),
    );
  });

  test('an app moved in whole (made elsewhere, renamed into place) is watched all the way down', async () => {
    const elsewhere = tmpDataDir();
    writeApp(elsewhere, 'moved-app', { versions: [{ 'program.js': answer('ham') }] });
    fs.renameSync(path.join(elsewhere, 'loop-apps', 'moved-app'), appDir('moved-app'));
    await eventually(async () => expect((await exec('moved-app')).body.output).toBe('ham'));
    // a folder's watch follows its inode: the folders inside the moved tree are watched too
    fs.writeFileSync(path.join(appDir('moved-app'), 'artifacts', 'v1', 'program.js'), answer('spam'));
    await eventually(async () => expect((await exec('moved-app')).body.output).toBe('spam'));
  });

  test('a version folder or the whole artifacts folder replaced by a rename is watched again', async () => {
    writeApp(dataDir, 'swap-app', { versions: [{ 'program.js': answer('ham') }] });
    await eventually(async () => expect((await exec('swap-app')).body.output).toBe('ham'));
    const artifacts = path.join(appDir('swap-app'), 'artifacts');
    writeVersion(dataDir, 'swap-app', '.v1-new', { 'program.js': answer('spam') });
    fs.renameSync(path.join(artifacts, 'v1'), path.join(artifacts, '.v1-old'));
    fs.renameSync(path.join(artifacts, '.v1-new'), path.join(artifacts, 'v1'));
    await eventually(async () => expect((await exec('swap-app')).body.output).toBe('spam'));
    fs.writeFileSync(path.join(artifacts, 'v1', 'program.js'), answer('ham'));
    await eventually(async () => expect((await exec('swap-app')).body.output).toBe('ham'));

    const other = tmpDataDir();
    writeApp(other, 'swap-app', { versions: [{ 'program.js': answer('spam') }] });
    fs.renameSync(artifacts, path.join(appDir('swap-app'), '.artifacts-old'));
    fs.renameSync(path.join(other, 'loop-apps', 'swap-app', 'artifacts'), artifacts);
    await eventually(async () => expect((await exec('swap-app')).body.output).toBe('spam'));
    fs.writeFileSync(path.join(artifacts, 'v1', 'program.js'), answer('ham'));
    await eventually(async () => expect((await exec('swap-app')).body.output).toBe('ham'));
  });

  test('a broken program.js never replaces the working one; fixing it is picked up', async () => {
    const file = path.join(appDir('steady-app'), 'artifacts', 'v2', 'program.js');
    fs.writeFileSync(file, 'function execute(input) { return {');
    await eventually(async () =>
      expect((await call(server.url, 'GET', '/loop-apps/steady-app')).body.load_error).toMatch(/program\.js/),
    );
    expect((await exec('steady-app')).body).toMatchObject({ version: 'v2', output: 'ham' });
    fs.writeFileSync(file, answer('spam'));
    await eventually(async () => expect((await exec('steady-app')).body.output).toBe('spam'));
    expect((await call(server.url, 'GET', '/loop-apps/steady-app')).body.load_error).toBeNull();
  });

  test('config.yaml edits apply; a broken config keeps the old one serving', async () => {
    const file = path.join(appDir('steady-app'), 'config.yaml');
    const config = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, yaml.dump({ ...config, status: 'paused' }));
    await eventually(async () => expect((await exec('steady-app')).status).toBe(503));

    fs.writeFileSync(file, yaml.dump({ ...config, status: 'active', sampling: { rate: 'lots' } }));
    await eventually(async () =>
      expect((await call(server.url, 'GET', '/loop-apps/steady-app')).body.load_error).toMatch(
        /sampling\/rate/,
      ),
    );
    expect((await exec('steady-app')).status).toBe(503); // still the last good config: paused

    fs.writeFileSync(file, 'loop_app_id: [unclosed');
    await eventually(async () =>
      expect((await call(server.url, 'GET', '/loop-apps/steady-app')).body.load_error).toMatch(/YAML/),
    );

    fs.writeFileSync(file, yaml.dump({ ...config, status: 'active' }));
    await eventually(async () => expect((await exec('steady-app')).status).toBe(200));
  });

  test('an app whose first load fails shows why, and serves once fixed', async () => {
    const dir = appDir('broken-from-start');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.yaml'), yaml.dump({ ...spamConfig('other-name') }));
    await eventually(async () => {
      const list = await call(server.url, 'GET', '/loop-apps');
      expect(list.body.load_errors['broken-from-start']).toMatch(/other-name/);
    });
    writeApp(dataDir, 'broken-from-start', { versions: [{ 'program.js': answer('ham') }] });
    await eventually(async () => expect((await exec('broken-from-start')).status).toBe(200));
  });

  test('a hand-edited rollout sends that share of calls to the candidate version', async () => {
    writeApp(dataDir, 'canary-app', {
      versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
      active: 'v1',
    });
    await eventually(async () => expect((await exec('canary-app')).status).toBe(200));
    const file = path.join(appDir('canary-app'), 'config.yaml');
    const config = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, yaml.dump({ ...config, rollout: { candidate: 'v2', percent: 50 } }));
    await eventually(async () =>
      expect((await call(server.url, 'GET', '/loop-apps/canary-app')).body.rollout).toEqual({
        candidate: 'v2',
        percent: 50,
      }),
    );
    const versions = await Promise.all(
      Array.from({ length: 200 }, () => exec('canary-app').then((r) => r.body.version)),
    );
    const onCandidate = versions.filter((v) => v === 'v2').length;
    expect(onCandidate).toBeGreaterThan(60);
    expect(onCandidate).toBeLessThan(140);
    const listed = await call(server.url, 'GET', '/loop-apps/canary-app/versions');
    expect(listed.body.versions.map((v: { status: string }) => v.status)).toEqual(['active', 'canary']);
  });

  test('a removed app folder stops serving', async () => {
    writeApp(dataDir, 'gone-app', { versions: [{ 'program.js': answer('ham') }] });
    await eventually(async () => expect((await exec('gone-app')).status).toBe(200));
    fs.rmSync(appDir('gone-app'), { recursive: true, force: true });
    await eventually(async () => expect((await exec('gone-app')).status).toBe(404));
  });

  test('concurrent execute calls during `active` flips: zero failed requests', async () => {
    writeApp(dataDir, 'flip-app', {
      versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
      active: 'v1',
    });
    await eventually(async () => expect((await exec('flip-app')).status).toBe(200));
    let stop = false;
    const seen = new Set<string>();
    const failures: unknown[] = [];
    const client = async () => {
      while (!stop) {
        const res = await exec('flip-app');
        if (res.status !== 200) failures.push(res.body);
        else seen.add(res.body.version);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let i = 0; i < 10; i++) {
      flipActive(dataDir, 'flip-app', i % 2 === 0 ? 'v2' : 'v1');
      await new Promise((r) => setTimeout(r, 150));
    }
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect([...seen].sort()).toEqual(['v1', 'v2']);
  });
});
