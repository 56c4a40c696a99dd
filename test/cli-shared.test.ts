import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { CLI, run } from './helpers/cli';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { startTestServer } from './helpers/server';

describe('loopai shared', () => {
  let dataDir: string;
  let server: RunningServer;
  const loopai = (args: string[]) => run(process.execPath, [CLI, '--url', server.url, ...args]);

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('publish a folder, list, show; verify finds a changed file; gc deletes only what nothing pins', async () => {
    const folder = fs.mkdtempSync(path.join(dataDir, 'base-'));
    fs.writeFileSync(path.join(folder, 'words.json'), '["prize","winner"]');
    fs.writeFileSync(path.join(folder, 'README.txt'), 'spam words');
    const published = await loopai([
      'shared',
      'publish',
      'model',
      'spam-words',
      'v1',
      folder,
      '--description',
      'words',
    ]);
    expect(published.code).toBe(0);
    const hash = /sha256:[0-9a-f]{64}/.exec(published.stdout)![0];
    expect(published.stdout).toContain(`hash: "${hash}"`);
    expect((await loopai(['shared', 'publish', 'model', 'unused', 'v1', folder])).code).toBe(0);

    writeApp(dataDir, 'pins-it', {
      config: spamConfig('pins-it'),
      versions: [
        {
          'program.js': "function execute() { return { result: 'ham' }; }",
          'dependencies.yaml': yaml.dump({
            shared_artifacts: [{ type: 'model', name: 'spam-words', version: 'v1', hash }],
          }),
        },
      ],
    });
    const list = await loopai(['shared', 'list']);
    expect(list.stdout).toMatch(/│ model │ spam-words │ v1\s+│ sha256:[0-9a-f]{12}\s+│ 2\s+│ 28\s+│ 1\s+│/);
    expect(list.stdout).toMatch(/│ model │ unused\s+│ v1\s+│ .*│ 0\s+│/);
    const show = await loopai(['shared', 'show', 'model', 'spam-words', 'v1']);
    expect(show.stdout).toMatch(/pinned by: pins-it v1/);
    expect(show.stdout).toMatch(/│ words\.json\s+│ 18\s+│ [0-9a-f]{64} │/);

    expect((await loopai(['shared', 'verify'])).stdout).toMatch(/2 of 2 verified/);
    const words = path.join(dataDir, 'shared', 'artifacts', 'models', 'spam-words-v1', 'words.json');
    fs.writeFileSync(words, '["PRIZE","winner"]');
    const verify = await loopai(['shared', 'verify']);
    expect(verify.code).toBe(5);
    expect(verify.stdout).toMatch(/words\.json has 18 bytes with sha256 [0-9a-f]{64}; expected 18 bytes/);
    expect(verify.stdout).toMatch(/1 of 2 verified/);

    const dry = await loopai(['shared', 'gc']);
    expect(dry.stdout).toMatch(/model unused v1: pinned by no retained version\nrun again with --apply/);
    expect(fs.existsSync(path.join(dataDir, 'shared', 'artifacts', 'models', 'unused-v1'))).toBe(true);
    const applied = JSON.parse((await loopai(['--json', 'shared', 'gc', '--apply'])).stdout);
    expect(applied).toEqual({ unused: ['model unused v1'], deleted: ['model unused v1'] });
    expect(fs.readdirSync(path.join(dataDir, 'shared', 'artifacts', 'models'))).toEqual(['spam-words-v1']);
  });

  test('a folder with nothing to publish is a usage error', async () => {
    const empty = fs.mkdtempSync(path.join(dataDir, 'empty-'));
    const res = await loopai(['shared', 'publish', 'model', 'nothing', 'v1', empty]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/holds no files to publish/);
  });
});
