import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../../src/server';
import { AppStore } from '../../src/store/app-store';
import { spamConfig, tmpDataDir, writeApp, writeVersion } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';

const PROGRAM =
  "function execute() { return { result: loopai.shared.base['a.txt'].length > 0 ? 'spam' : 'ham' }; }";
const REF = { type: 'model', name: 'base', version: 'v1' } as const;

/** dependencies.yaml and metadata.yaml are files a person may edit: hostile until checked. */
describe('shared artifacts as an attacker edits them', () => {
  let dataDir: string;
  let server: RunningServer;
  let hash: string;
  let n = 1;

  beforeAll(async () => {
    dataDir = tmpDataDir();
    const store = new AppStore(dataDir);
    hash = (await store.shared.publish(REF, { 'a.txt': 'words' })).metadata.hash;
    writeApp(dataDir, 'target', { config: spamConfig('target') });
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  const refused = async (dependencies: string, why: RegExp) => {
    const version = `v${++n}`;
    writeVersion(dataDir, 'target', version, { 'program.js': PROGRAM, 'dependencies.yaml': dependencies });
    const reply = await call(server.url, 'POST', `/loop-apps/target/versions/${version}/activate`, {});
    expect(reply.status).toBe(422);
    expect(reply.body.error.message).toMatch(why);
  };
  const pin = (over: Record<string, unknown>) => yaml.dump({ shared_artifacts: [{ ...REF, hash, ...over }] });

  test.each([
    ['a name that climbs out', { name: '../../../etc' }, /name must match pattern/],
    [
      'a type that is no folder of ours',
      { type: '../loop-apps' },
      /type must be equal to one of the allowed values/,
    ],
    ['a version that is a path', { version: 'v1/../../x' }, /version must match pattern/],
    ['a name of the prototype', { name: '__proto__' }, /name must match pattern/],
  ])('dependencies.yaml with %s is refused', async (_what, over, why) => {
    await refused(pin(over), why);
  });

  test('a custom YAML tag in dependencies.yaml is refused, never run', async () => {
    await refused('shared_artifacts: !!js/function "function () {}"\n', /is not YAML/);
  });

  test('metadata.yaml edited to name another artifact, or a file that is a symlink, is refused at load', async () => {
    const folder = new AppStore(dataDir).layout.sharedArtifact(REF);
    const metadata = path.join(folder, 'metadata.yaml');
    const original = fs.readFileSync(metadata, 'utf8');
    try {
      fs.writeFileSync(metadata, original.replace('name: base', 'name: other'));
      await refused(pin({}), /metadata\.yaml names model 'other' v1/);
    } finally {
      fs.writeFileSync(metadata, original);
    }
    const file = path.join(folder, 'a.txt');
    fs.renameSync(file, `${file}.real`);
    fs.symlinkSync(`${file}.real`, file);
    try {
      await refused(pin({}), /a\.txt is a symlink, not a file/);
    } finally {
      fs.rmSync(file);
      fs.renameSync(`${file}.real`, file);
    }
  });
});
