import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../../src/server';
import { tmpDataDir, writeApp } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';

const answer = (label: string) => `function execute() { return { result: '${label}', confidence: 1 }; }`;

/** Parallel writes to one app over real HTTP: they queue one after another instead of tripping over each other. */
describe('parallel lifecycle requests on one app', () => {
  let server: RunningServer;
  let dataDir: string;
  const artifacts = () => path.join(dataDir, 'loop-apps', 'race-app', 'artifacts');

  beforeAll(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'race-app', {
      versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
      active: 'v1',
    });
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('8 activations of one version at once: all 200, and `active` ends a valid link to it', async () => {
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => call(server.url, 'POST', '/loop-apps/race-app/versions/v2/activate')),
    );
    expect(replies.map((r) => [r.status, r.body.error?.message])).toEqual(
      Array.from({ length: 8 }, () => [200, undefined]),
    );
    expect(fs.readlinkSync(path.join(artifacts(), 'active'))).toBe('v2');
    expect(fs.readdirSync(artifacts()).filter((n) => n.startsWith('.'))).toEqual([]);
    const records = fs.readFileSync(path.join(artifacts(), 'activations.jsonl'), 'utf8').trim().split('\n');
    expect(records.map((line) => JSON.parse(line).version)).toEqual(Array(8).fill('v2'));
    const res = await call(server.url, 'POST', '/loop-apps/race-app/execute', { input: { text: 'hi' } });
    expect(res.body).toMatchObject({ version: 'v2', output: 'spam' });
  });

  test('5 uploads of the same program at once: 5 × 201, each a version of its own', async () => {
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(server.url, 'POST', '/loop-apps/race-app/versions', { code: answer('ham') }),
      ),
    );
    expect(replies.map((r) => [r.status, r.body.error?.message])).toEqual(
      Array.from({ length: 5 }, () => [201, undefined]),
    );
    expect(replies.map((r) => r.body.version).sort()).toEqual(['v3', 'v4', 'v5', 'v6', 'v7']);
    const listed = await call(server.url, 'GET', '/loop-apps/race-app/versions');
    expect(listed.body.versions).toHaveLength(7);
  });
});
