import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { SandboxPool } from '../src/runtime/sandbox/pool';
import type { RunningServer } from '../src/server';
import { AppStore } from '../src/store/app-store';
import { artifactHash, type SharedMetadata } from '../src/store/shared-files';
import { flipActive, spamConfig, tmpDataDir, writeApp, writeVersion } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

/** A program that reads its spam words from a shared artifact, after trying to empty them (it cannot). */
const SHARED_PROGRAM = `
function execute(input) {
  var base = loopai.shared['spam-words'];
  try { base['words.json'] = '[]'; } catch (e) {}
  try { delete base['words.json']; } catch (e) {}
  var words = JSON.parse(base['words.json']);
  var hits = words.filter(function (w) { return input.text.toLowerCase().indexOf(w) >= 0; }).length;
  return { result: hits > 0 ? 'spam' : 'ham', confidence: 0.9 };
}`;
const REF = { type: 'model', name: 'spam-words', version: 'v1' } as const;
const WORDS = JSON.stringify([
  'prize',
  'lottery',
  'winner',
  ...Array.from({ length: 300 }, (_, i) => `w${i}`),
]);

const dependencies = (hash: string, extra: Record<string, unknown> = {}) =>
  yaml.dump({ shared_artifacts: [{ ...REF, hash, update_policy: 'pinned', ...extra }] });

describe('shared artifacts: pinned, verified on every load, read-only', () => {
  let dataDir: string;
  let store: AppStore;
  let metadata: SharedMetadata;
  let server: RunningServer;
  const folder = () => store.layout.sharedArtifact(REF);
  const exec = (id: string, text: string) =>
    call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text } });

  beforeAll(async () => {
    dataDir = tmpDataDir();
    store = new AppStore(dataDir);
    ({ metadata } = await store.shared.publish(REF, { 'words.json': WORDS, 'README.txt': 'spam words' }));
    for (const id of ['uses-shared', 'also-shared'])
      writeApp(dataDir, id, {
        config: spamConfig(id),
        versions: [{ 'program.js': SHARED_PROGRAM, 'dependencies.yaml': dependencies(metadata.hash) }],
      });
    // an interrupted publish left this behind: gone at start-up, never seen as an artifact
    const leftover = path.join(path.dirname(folder()), '.tmp-publish-0000');
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, 'words.json'), '["half"');
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('a version reads its shared artifact as loopai.shared[name], and cannot change it', async () => {
    for (const id of ['uses-shared', 'also-shared']) {
      const reply = await exec(id, 'You are a WINNER');
      expect(reply.body).toMatchObject({ output: 'spam', version: 'v1' });
    }
    expect((await exec('uses-shared', 'lunch at noon')).body.output).toBe('ham');
    expect(fs.readdirSync(path.dirname(folder()))).toEqual(['spam-words-v1']);
  });

  test('the hash is what sha256sum says over the files in name order', () => {
    const listing = execFileSync(
      'sh',
      ['-c', 'LC_ALL=C ls | grep -vx metadata.yaml | xargs sha256sum | sha256sum'],
      {
        cwd: folder(),
      },
    ).toString();
    expect(metadata.hash).toBe(`sha256:${listing.split(' ')[0]}`);
    expect(artifactHash(metadata.files)).toBe(metadata.hash);
  });

  test('publishing again: the same content is a no-op, other content is refused; at once, one copy', async () => {
    const twice = await Promise.all([
      store.shared.publish({ ...REF, version: 'v2' }, { 'words.json': '["a"]' }),
      store.shared.publish({ ...REF, version: 'v2' }, { 'words.json': '["a"]' }),
    ]);
    expect(twice.map((t) => t.created).sort()).toEqual([false, true]);
    expect(twice[0].metadata.hash).toBe(twice[1].metadata.hash);
    expect(
      (await store.shared.publish(REF, { 'words.json': WORDS, 'README.txt': 'spam words' })).created,
    ).toBe(false);
    await expect(store.shared.publish(REF, { 'words.json': '["other"]' })).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/is published with other content \(sha256:[0-9a-f]{64}\)/),
    });
    expect(fs.readdirSync(path.dirname(folder())).sort()).toEqual(['spam-words-v1', 'spam-words-v2']);
    const audit = fs
      .readFileSync(store.layout.sharedAudit(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.filter((e) => e.event === 'publish').map((e) => e.version)).toEqual(['v1', 'v2']);
  });

  test.each([
    [
      'a file with the right size and other bytes',
      () => {
        const file = path.join(folder(), 'words.json');
        fs.copyFileSync(file, `${file}.good`);
        fs.writeFileSync(file, WORDS.replace('prize', 'PRIZE'));
      },
      () => fs.renameSync(path.join(folder(), 'words.json.good'), path.join(folder(), 'words.json')),
      /shared model 'spam-words' v1: words\.json has \d+ bytes with sha256 [0-9a-f]{64}; expected \d+ bytes with sha256 [0-9a-f]{64}/,
    ],
    [
      'a missing artifact',
      () => fs.renameSync(folder(), `${folder()}-away`),
      () => fs.renameSync(`${folder()}-away`, folder()),
      /shared model 'spam-words' v1 is not published here/,
    ],
  ])(
    '%s: that version fails to load saying so, the serving version keeps serving',
    async (_what, spoil, mend, why) => {
      spoil();
      try {
        writeVersion(dataDir, 'uses-shared', 'v2', {
          'program.js': SHARED_PROGRAM.replace("'spam'", "'spam' /* v2 */"),
          'dependencies.yaml': dependencies(metadata.hash),
        });
        const reply = await call(server.url, 'POST', '/loop-apps/uses-shared/versions/v2/activate', {});
        expect(reply.status).toBe(422);
        expect(reply.body.error.message).toMatch(why);
        expect((await exec('uses-shared', 'a prize')).body).toMatchObject({ output: 'spam', version: 'v1' });
        expect((await exec('also-shared', 'a prize')).body).toMatchObject({ output: 'spam', version: 'v1' });
      } finally {
        mend();
        fs.rmSync(path.join(dataDir, 'loop-apps', 'uses-shared', 'artifacts', 'v2'), { recursive: true });
      }
    },
  );

  test('a serving version whose artifact is damaged after it loaded keeps serving, even when loaded again', async () => {
    expect((await exec('uses-shared', 'a prize')).body).toMatchObject({ output: 'spam', version: 'v1' });
    const file = path.join(folder(), 'words.json');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('prize', 'PRIZE'));
    try {
      // its copy in the sandbox goes away (as after an idle unload): loaded again, with the bytes it was checked with
      const key = server.registry.require('uses-shared').program!.key!;
      await server.registry.pool.unload(key);
      expect(server.registry.pool.isLoaded(key)).toBe(false);
      expect((await exec('uses-shared', 'a prize')).body).toMatchObject({ output: 'spam', version: 'v1' });
      expect(server.registry.pool.isLoaded(key)).toBe(true);
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  test('dependencies.yaml edited by hand to a wrong hash: the old version keeps serving, the app says why', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    writeVersion(dataDir, 'also-shared', 'v2', {
      'program.js': SHARED_PROGRAM,
      'dependencies.yaml': dependencies(wrong),
    });
    flipActive(dataDir, 'also-shared', 'v2');
    const app = await eventually(async () => {
      const body = (await call(server.url, 'GET', '/loop-apps/also-shared')).body;
      expect(body.load_error).toMatch(
        /pinned at sha256:0{64}, but what is published here is sha256:[0-9a-f]{64}/,
      );
      return body;
    });
    expect(app.serving_version).toBe('v1');
    expect((await exec('also-shared', 'lottery')).body).toMatchObject({ output: 'spam', version: 'v1' });
  });

  test.each([
    [
      'a path that names another artifact',
      (h: string) => dependencies(h, { path: '/shared/artifacts/models/other-v1/' }),
      /'spam-words' says path \/shared\/artifacts\/models\/other-v1\/, but model v1 is at \/shared\/artifacts\/models\/spam-words-v1\//,
    ],
    [
      'a local artifact that is not a file of the version',
      (h: string) => dependencies(h) + 'local_artifacts:\n  - {type: custom-rules, path: ./rules.json}\n',
      /local artifact \.\/rules\.json is not a file of this version/,
    ],
    [
      'an unknown key',
      (h: string) => dependencies(h, { pinned_by: 'me' }),
      /must NOT have additional properties/,
    ],
  ])('%s is refused at load', async (_what, text, why) => {
    const version = `v${10 + Math.floor(Math.random() * 1e6)}`;
    const deps = text(metadata.hash);
    writeVersion(dataDir, 'uses-shared', version, {
      'program.js': SHARED_PROGRAM,
      'dependencies.yaml': deps,
    });
    const reply = await call(server.url, 'POST', `/loop-apps/uses-shared/versions/${version}/activate`, {});
    expect(reply.status).toBe(422);
    expect(reply.body.error.message).toMatch(why);
  });
});

describe('in the sandbox: one copy of a shared artifact per child, whoever uses it', () => {
  const pool = new SandboxPool({ size: 1 });
  afterAll(() => pool.close());
  const text = 'x'.repeat(64 * 1024) + 'end';
  const source = (app: string) => ({
    key: `${app}@v1@k`,
    code: "function execute() { var t = loopai.shared.base['t.txt']; return { result: t.length + ':' + t.slice(-3) }; }",
    files: {},
    timeoutMs: 1000,
    memoryMb: 16,
    shared: { base: { hash: 'sha256:test', files: { 't.txt': text } } },
  });
  const answer = async (app: string) => {
    const outcome = await pool.run(`${app}@v1@k`, {});
    return outcome.ok ? outcome.answer.result : outcome.error.message;
  };

  test('the texts go to the child once; it keeps them while any program uses them, and across a restart', async () => {
    const want = `${text.length}:end`;
    await pool.load(source('a'));
    await pool.load(source('b')); // sent without the texts: the child holds them for a
    expect([await answer('a'), await answer('b')]).toEqual([want, want]);
    await pool.unload('a@v1@k');
    expect(await answer('b')).toBe(want);
    await pool.unload('b@v1@k');
    await pool.load(source('c')); // nobody held them: sent again
    expect(await answer('c')).toBe(want);
    await pool.load(source('d'));
    process.kill(pool.childPids()[0], 'SIGKILL'); // a restart loads both again, with the texts
    await eventually(async () => expect(await answer('d')).toBe(want), 10_000);
    expect(await answer('c')).toBe(want);
  });
});

describe('the shared artifacts API', () => {
  let dataDir: string;
  let server: RunningServer;
  const api = (method: string, p: string, body?: unknown) => call(server.url, method, p, body);
  const publish = (files: Record<string, string>, version = 'v1') =>
    api('POST', '/shared/artifacts', { type: 'vectorizer', name: 'tfidf-english', version, files });

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('publish (201), the same again (200), other content (409); list and read one, with dependents', async () => {
    const created = await publish({ 'vocab.json': '["a","b"]' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: 'vectorizer',
      name: 'tfidf-english',
      version: 'v1',
      dependents: [],
    });
    expect(created.body.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await publish({ 'vocab.json': '["a","b"]' })).status).toBe(200);
    const other = await publish({ 'vocab.json': '["c"]' });
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(/published with other content/);

    writeApp(dataDir, 'pins-it', {
      config: spamConfig('pins-it'),
      versions: [
        {
          'program.js': "function execute() { return { result: 'ham' }; }",
          'dependencies.yaml': yaml.dump({
            shared_artifacts: [
              { type: 'vectorizer', name: 'tfidf-english', version: 'v1', hash: created.body.hash },
            ],
          }),
        },
      ],
    });
    const listed = (await api('GET', '/shared/artifacts')).body.artifacts;
    expect(listed).toHaveLength(1);
    expect(listed[0].dependents).toEqual([{ loop_app_id: 'pins-it', version: 'v1' }]);
    const one = await api('GET', '/shared/artifacts/vectorizer/tfidf-english/v1');
    expect(one.body.files['vocab.json']).toEqual({ sha256: expect.any(String), size: 9 });
    expect((await api('GET', '/shared/artifacts/vectorizer/tfidf-english/v9')).status).toBe(404);
    expect((await api('GET', '/shared/artifacts/gadget/tfidf-english/v1')).status).toBe(400);
  });

  test('delete is refused while a retained version pins it, and works once none does', async () => {
    const refused = await api('DELETE', '/shared/artifacts/vectorizer/tfidf-english/v1');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      message: expect.stringMatching(/is pinned by pins-it v1/),
      details: { dependents: [{ loop_app_id: 'pins-it', version: 'v1' }] },
    });
    fs.rmSync(path.join(dataDir, 'loop-apps', 'pins-it'), { recursive: true });
    expect((await api('DELETE', '/shared/artifacts/vectorizer/tfidf-english/v1')).status).toBe(204);
    expect((await api('GET', '/shared/artifacts')).body.artifacts).toEqual([]);
    const audit = fs.readFileSync(path.join(dataDir, 'shared', 'audit.jsonl'), 'utf8');
    expect(
      audit
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event),
    ).toEqual(['publish', 'delete']);
  });

  test('bad publishes are 400s saying what to fix', async () => {
    const bad = await api('POST', '/shared/artifacts', {
      type: 'model',
      name: 'Bad Name',
      version: 'v1',
      files: {},
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors.length).toBeGreaterThan(0);
    const badFile = await api('POST', '/shared/artifacts', {
      type: 'model',
      name: 'ok-name',
      version: 'v1',
      files: { '../x': 'y' },
    });
    expect(badFile.status).toBe(400);
    expect(badFile.body.error.message).toMatch(/is not a plain file name/);
  });
});
