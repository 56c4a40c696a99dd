import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { SPAM_PROGRAM, spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { startOpenAiTestServer, type OpenAiTestServer } from '../devtools/openai-compatible-server';
import { freePort } from './helpers/process';
import { call, eventually, startTestServer } from './helpers/server';
import { CLI, run } from './helpers/cli';

const V1_WORDS = '["win","prize","free"]';
const V2_WORDS = '["lottery"]';

describe('loopai command-line tool against a real server', () => {
  let server: RunningServer;
  let llm: OpenAiTestServer;
  let dataDir: string;
  let dir: string;

  const loopai = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
    run(process.execPath, [CLI, ...args], { LOOPAI_URL: server.url, ...env }, stdin);
  /** Runs a command that must succeed, and returns its stdout. */
  const ok = async (args: string[], stdin?: string) => {
    const res = await loopai(args, {}, stdin);
    if (res.code !== 0) throw new Error(`loopai ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
    return res.stdout;
  };
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

  beforeAll(async () => {
    dataDir = tmpDataDir();
    dir = fs.mkdtempSync(path.join(dataDir, 'files-'));
    // v1 calls "win a prize" spam, v2 (active) only "lottery": which version serves shows in the answers
    const versions = [
      { 'program.js': SPAM_PROGRAM, 'words.json': V1_WORDS },
      { 'program.js': SPAM_PROGRAM, 'words.json': V2_WORDS },
    ];
    writeApp(dataDir, 'spam-app', { versions });
    writeApp(dataDir, 'rollback-app', { versions });
    // an LLM that refuses every request: generation by `generator: llm` fails
    llm = await startOpenAiTestServer(() => ({ status: 400, message: 'this model refuses' }));
    server = await startTestServer(dataDir, {
      llm: {
        api_key: 'test-key',
        base_url: llm.url,
        model: 'test-model',
        timeout_ms: 5000,
        repair_rounds: 0,
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await llm.close();
  });

  test('apps list: a table by default, the exact API JSON with --json', async () => {
    const text = await ok(['apps', 'list']);
    expect(text).toMatch(/│ id\s+│ name\s+│ status\s+│ version\s+│ accuracy/);
    expect(text).toMatch(/│ spam-app\s+│ Spam test\s+│ active\s+│ v2\s+│/);

    const json = JSON.parse(await ok(['apps', 'list', '--json']));
    expect(json).toEqual((await call(server.url, 'GET', '/loop-apps')).body);
    // global options work before the command too
    expect(JSON.parse(await ok(['--json', 'apps', 'show', 'spam-app']))).toMatchObject({
      loop_app_id: 'spam-app',
      current_version: 'v2',
    });
  });

  test('exec: one input given as JSON', async () => {
    const json = JSON.parse(await ok(['exec', 'spam-app', '{"text": "you won the lottery"}', '--json']));
    expect(json).toMatchObject({ loop_app_id: 'spam-app', version: 'v2', output: 'spam', confidence: 0.9 });
    expect(json.execution_id).toEqual(expect.any(String));

    const table = await ok(['exec', 'spam-app', '{"text": "lunch at noon"}']);
    expect(table).toMatch(/│ output\s+│ ham\s+│/);
    expect(table).toMatch(/│ version\s+│ v2\s+│/);
  });

  test('exec --file: many inputs in batches of at most 1000, one JSON result per line, in order', async () => {
    // 2,345 inputs: one request would be refused (over 1000), so success means the CLI batched them
    const inputs = Array.from({ length: 2345 }, (_, i) => ({ text: i % 3 ? `hello ${i}` : `lottery ${i}` }));
    const file = write('inputs.jsonl', jsonl(inputs));
    const res = await loopai(['exec', 'spam-app', '--file', file]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe(''); // stderr is not a terminal: no progress bar
    const lines = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2345);
    lines.forEach((r, i) => expect(r.output).toBe(i % 3 ? 'ham' : 'spam'));

    // a JSON array on stdin, small batches: the order holds across batch boundaries
    const few = JSON.stringify(inputs.slice(0, 10));
    const small = await loopai(['exec', 'spam-app', '--file', '-', '--batch-size', '3'], {}, few);
    expect(
      small.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).output),
    ).toEqual(lines.slice(0, 10).map((r) => r.output));
  });

  test('exec --file: a bad input gets its error line, the others their results, and the exit code is 5', async () => {
    const file = write('mixed.jsonl', jsonl([{ text: 'lottery' }, { txt: 'typo' }, { text: 'hi' }]));
    const res = await loopai(['exec', 'spam-app', '-f', file]);
    expect(res.code).toBe(5);
    const lines = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.output ?? l.error.code)).toEqual(['spam', 'invalid_input', 'ham']);
    expect(res.stderr).toMatch(/1 of 3 inputs got an error/);
  });

  test('the progress bar shows on stderr when stderr is a terminal', async () => {
    const file = write('tty-inputs.jsonl', jsonl(Array.from({ length: 50 }, (_, i) => ({ text: `m ${i}` }))));
    const out = path.join(dir, 'tty-out.jsonl');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, CLI, 'exec', 'spam-app', '--file', file, '--batch-size', '10']
      .map(quote)
      .join(' ');
    // util-linux `script` runs the command on a pseudo-terminal; stdout goes to a file, so the terminal holds stderr
    const res = await run('script', ['-qec', `${command} > ${quote(out)}`, '/dev/null'], {
      LOOPAI_URL: server.url,
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/spam-app \[.*\] 100% \| 50\/50/);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(50);
  });

  test('examples add: a JSON array or JSONL; a bad row is refused with the server message, exit 5', async () => {
    const array = write(
      'examples.json',
      JSON.stringify([
        { input: { text: 'lottery win' }, output: 'spam' },
        { input: { text: 'see you' }, output: 'ham' },
      ]),
    );
    expect(await ok(['examples', 'add', 'spam-app', array])).toMatch(/added 2 examples \(2 in all\)/);
    const lines = write('examples.jsonl', jsonl([{ input: { text: 'free lottery' }, output: 'spam' }]));
    expect(JSON.parse(await ok(['examples', 'add', 'spam-app', lines, '--json']))).toEqual({
      added: 1,
      total: 3,
    });

    const bad = write('bad-examples.jsonl', jsonl([{ input: { text: 'x' }, output: 'maybe' }]));
    const res = await loopai(['examples', 'add', 'spam-app', bad]);
    expect(res.code).toBe(5);
    expect(res.stderr).toMatch(/^loopai: /);
    expect(res.stderr).toMatch(/"line": 1/);

    // JSONL and CSV files are streamed; a bad row is named by its line
    const badLine = write(
      'bad-line.jsonl',
      jsonl([
        { input: { text: 'ok' }, output: 'ham' },
        { input: {}, output: 'ham' },
      ]),
    );
    const refused = await loopai(['examples', 'add', 'spam-app', badLine]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/"line": 2/);
    const csv = write('more.csv', 'text,verdict\n"win, win, win",spam\nlunch at noon?,ham\n');
    expect(await ok(['examples', 'add', 'spam-app', csv, '--input', 'text', '--output', 'verdict'])).toMatch(
      /added 2 examples \(5 in all\)/,
    );
    const csvWithHeader = write('named.csv', 'text,label\nfree prize,spam\n');
    expect(await ok(['examples', 'add', 'spam-app', csvWithHeader])).toMatch(/\(6 in all\)/);
    const exported = (await ok(['examples', 'export', 'spam-app']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(exported).toHaveLength(6);
    expect(exported[3]).toMatchObject({ input: { text: 'win, win, win' }, output: 'spam' });
  });

  test('versions list, activate and rollback change what serves', async () => {
    const list = await ok(['versions', 'list', 'rollback-app']);
    expect(list).toMatch(/│ v1\s+│/);
    expect(list).toMatch(/│ v2\s+│ active\s+│/);
    const api = (await call(server.url, 'GET', '/loop-apps/rollback-app/versions')).body;
    expect(JSON.parse(await ok(['versions', 'list', 'rollback-app', '--json']))).toEqual(api);

    const answer = async () =>
      JSON.parse(await ok(['exec', 'rollback-app', '{"text": "win a prize"}', '--json']));
    expect(await answer()).toMatchObject({ version: 'v2', output: 'ham' });

    expect(await ok(['versions', 'activate', 'rollback-app', 'v1'])).toMatch(/rollback-app: v1 is active/);
    expect(await answer()).toMatchObject({ version: 'v1', output: 'spam' });
    expect(await ok(['versions', 'activate', 'rollback-app', 'v2'])).toMatch(/v2 is active/);
    expect(await answer()).toMatchObject({ version: 'v2', output: 'ham' });

    const back = JSON.parse(await ok(['versions', 'rollback', 'rollback-app', '--json']));
    expect(back).toMatchObject({ version: 'v1', status: 'active' });
    expect(await answer()).toMatchObject({ version: 'v1', output: 'spam' });

    const missing = await loopai(['versions', 'activate', 'rollback-app', 'v9']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no version v9/);
  });

  test('eval: accuracy, per-class precision/recall and the confusion matrix on a labelled file', async () => {
    // v2 knows only "lottery": 4 spam found, 1 spam missed, 5 ham right → 90 %
    const rows = [
      ...['lottery a', 'lottery b', 'lottery c', 'big lottery'].map((text) => ({
        input: { text },
        output: 'spam',
      })),
      { input: { text: 'win a free prize' }, output: 'spam' },
      ...['hi', 'lunch?', 'see you', 'call me', 'thanks'].map((text) => ({ input: { text }, output: 'ham' })),
    ];
    const file = write('labelled.jsonl', jsonl(rows));

    const text = await ok(['eval', 'spam-app', file]);
    expect(text).toMatch(/9 of 10 right/);
    expect(text).toMatch(/accuracy 90\.0 %/);
    expect(text).toMatch(/confusion matrix/);
    expect(text).toMatch(/│ expected \\ predicted\s+│ ham\s+│ spam\s+│/);
    expect(text).toMatch(/│ spam\s+│ 1\s+│ 4\s+│/);
    expect(text).toMatch(/│ spam\s+│ 100\.0 %\s+│ 80\.0 %\s+│ 5\s+│/);

    const json = JSON.parse(await ok(['eval', 'spam-app', file, '--json', '--batch-size', '4']));
    expect(json).toMatchObject({
      accuracy: 0.9,
      n: 10,
      correct: 9,
      versions: { v2: 10 },
      confusion: { spam: { spam: 4, ham: 1 }, ham: { ham: 5 } },
      per_class: { spam: { precision: 1, recall: 0.8, support: 5 } },
    });
    expect(json.per_class.ham.precision).toBeCloseTo(5 / 6);
  });

  test('apps create from a YAML spec waits for the generation job; --no-wait and jobs watch', async () => {
    const examples = ['lottery', 'free money', 'win cash', 'prize draw', 'claim reward'].flatMap((w, i) =>
      Array.from({ length: 6 }, (_, j) => [
        { input: { text: `${w} now ${i * 10 + j}` }, output: 'spam' },
        { input: { text: `meeting notes ${i * 10 + j} from ${['ann', 'bob', 'cy'][j % 3]}` }, output: 'ham' },
      ]).flat(),
    );
    const spec = write(
      'spec.yaml',
      yaml.dump({ ...spamConfig('made-app'), generator: 'learner', examples: examples.slice(0, 40) }),
    );
    const more = write('more.jsonl', jsonl(examples.slice(40)));
    const res = await loopai(['apps', 'create', spec, '--examples', more]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/job job_/);
    // the job's progress lines, as they came; 40 rows from the spec and 20 from --examples
    expect(res.stderr).toMatch(/60 labelled rows/);
    expect(res.stderr).toMatch(/learner: training on 60 examples/);
    expect(res.stdout).toMatch(/made-app v1 by learner, accuracy [\d.]+ % \(.*n=\d+\), created/);
    const app = (await call(server.url, 'GET', '/loop-apps/made-app')).body;
    expect(app.current_version).toBe('v1');
    // the score is shown with its interval, in the list and in one app's details
    const low = (app.score.interval.low * 100).toFixed(1);
    expect(await ok(['apps', 'list'])).toMatch(new RegExp(`│ made-app .*│ [\\d.]+ % \\(${low}–[\\d.]+ %\\)`));
    expect(await ok(['apps', 'show', 'made-app'])).toMatch(
      /accuracy\s+│ [\d.]+ % \(95 % CI [\d.]+ %–[\d.]+ %, .*n=60\)/,
    );
    const answered = JSON.parse(
      await ok(['exec', 'made-app', '{"text": "claim your lottery prize"}', '--json']),
    );
    expect(answered.output).toBe('spam');

    const later = write(
      'later.json',
      JSON.stringify({ ...spamConfig('later-app'), generator: 'learner', examples }),
    );
    const accepted = JSON.parse(await ok(['apps', 'create', later, '--no-wait', '--json']));
    expect(accepted).toMatchObject({ loop_app_id: 'later-app', job_url: `/jobs/${accepted.job_id}` });
    const watched = await ok(['jobs', 'watch', accepted.job_id]);
    expect(watched).toMatch(/^60 labelled rows/m);
    expect(watched.trim().split('\n').pop()).toMatch(/^later-app v1 by learner/);
  });

  test('apps create with a hand-written program answers at once (nothing to wait for)', async () => {
    const spec = write(
      'program-spec.json',
      JSON.stringify({
        ...spamConfig('program-app'),
        program: { code: SPAM_PROGRAM, files: { 'words.json': V2_WORDS } },
      }),
    );
    const text = await ok(['apps', 'create', spec]);
    expect(text).toMatch(/│ id\s+│ program-app\s+│/);
    expect(text).toMatch(/│ version\s+│ v1\s+│/);
  });

  test('a failed job exits 7 with its error', async () => {
    const spec = write(
      'llm-spec.json',
      JSON.stringify({
        ...spamConfig('llm-app'),
        generator: 'llm',
        examples: [
          { input: { text: 'lottery' }, output: 'spam' },
          { input: { text: 'hi' }, output: 'ham' },
        ],
      }),
    );
    const res = await loopai(['apps', 'create', spec]);
    expect(res.code).toBe(7);
    expect(res.stderr).toMatch(/job job_\S+ failed: .+/);
  });

  test('validate and improve', async () => {
    await ok(['exec', 'made-app', '{"text": "hello"}']);
    const report = JSON.parse(await ok(['validate', 'made-app', '--json']));
    expect(report).toMatchObject({ ingested: expect.any(Number), pending: expect.any(Number) });
    expect(report.ingested).toBeGreaterThanOrEqual(1);
    expect(await ok(['validate', 'made-app'])).toMatch(/│ ingested\s+│ \d+\s+│/);

    const improved = await loopai(['improve', 'made-app']);
    expect(improved.code).toBe(0);
    expect(improved.stderr).toMatch(/improving/);
    expect(improved.stdout).toMatch(/made-app v2 by learner, .*vs v1 .*, (promoted|canary|testing|rejected)/);
    const versions = (await call(server.url, 'GET', '/loop-apps/made-app/versions')).body.versions;
    expect(versions.map((v: { version: string }) => v.version)).toContain('v2');
  });

  test('pause, resume and archive', async () => {
    expect(await ok(['apps', 'pause', 'made-app'])).toMatch(/made-app: paused/);
    const paused = await loopai(['exec', 'made-app', '{"text": "hello"}']);
    expect(paused.code).toBe(1); // a 503
    expect(paused.stderr).toMatch(/is paused/);
    expect(JSON.parse(await ok(['apps', 'resume', 'made-app', '--json'])).status).toBe('active');
    expect(await ok(['apps', 'archive', 'made-app'])).toMatch(/made-app: archived/);
    const archived = await loopai(['exec', 'made-app', '{"text": "hello"}']);
    expect(archived.code).toBe(5); // a 410
  });

  test('exit codes: 4 unknown app, 5 bad input, 2 usage, 3 unreachable', async () => {
    const unknown = await loopai(['apps', 'show', 'no-such-app']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no-such-app/);
    expect((await loopai(['exec', 'no-such-app', '{"text": "x"}'])).code).toBe(4);
    const unknownJob = await loopai(['jobs', 'watch', 'job_nope']);
    expect(unknownJob.code).toBe(4);
    expect(unknownJob.stderr).toMatch(/no job 'job_nope'/);

    const bad = await loopai(['exec', 'spam-app', '{"txt": "typo"}']);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/input_schema/);
    expect(bad.stderr).toMatch(/required property 'text'/);

    expect((await loopai(['apps', 'lst'])).code).toBe(2);
    expect((await loopai(['exec', 'spam-app', '{not json'])).code).toBe(2);
    expect((await loopai(['exec', 'spam-app', '--batch-size', '5000', '-f', 'x'])).code).toBe(2);
    const missing = await loopai(['examples', 'add', 'spam-app', path.join(dir, 'nothing-here.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);

    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await loopai(['apps', 'list'], { LOOPAI_URL: closed });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the Loopai server .*ECONNREFUSED/);
  });

  test('--help documents the exit codes', async () => {
    const help = await loopai(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*3\s+server unreachable[\s\S]*7\s+job failed/);
  });
});

describe('loopai with API keys', () => {
  const ADMIN = 'admin-key-0123456789';
  const EXECUTE = 'execute-key-0123456789';
  let server: RunningServer;
  const loopai = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [CLI, '--url', server.url, ...args], env);

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-app');
    server = await startTestServer(dataDir, {
      auth: {
        api_keys: [
          { role: 'admin', key: ADMIN },
          { role: 'execute', key: EXECUTE },
        ],
        rate_limit_per_minute: 0,
        allow_anonymous: false,
      },
    });
  });
  afterAll(() => server.close());

  test('the key goes as a Bearer token (--key or LOOPAI_API_KEY); 401 and 403 exit 6', async () => {
    const none = await loopai(['apps', 'list']);
    expect(none.code).toBe(6);
    expect(none.stderr).toMatch(/API key is required/);
    expect((await loopai(['apps', 'list', '--key', 'wrong-key-0123456789'])).code).toBe(6);

    expect((await loopai(['apps', 'list', '--key', ADMIN])).stdout).toMatch(/spam-app/);
    const viaEnv = await loopai(['exec', 'spam-app', '{"text": "free prize"}', '--json'], {
      LOOPAI_API_KEY: EXECUTE,
    });
    expect(JSON.parse(viaEnv.stdout).output).toBe('spam');

    const forbidden = await loopai(['apps', 'list'], { LOOPAI_API_KEY: EXECUTE });
    expect(forbidden.code).toBe(6);
    expect(forbidden.stderr).toMatch(/admin/);
  });
});

describe('loopai serve', () => {
  test('serves a data dir on the given port until SIGTERM, then exits 0', async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-app');
    const port = await freePort();
    const proc = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir], {
      env: { ...process.env, LOOPAI_LOG_LEVEL: 'warn', LOOPAI_PORT: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => expect((await call(url, 'GET', '/ready')).status).toBe(200), 20_000, 100);
    const res = await call(url, 'POST', '/loop-apps/spam-app/execute', { input: { text: 'free prize' } });
    expect(res.body.output).toBe('spam');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  test('a server that cannot start exits 1 with the reason', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const res = await run(process.execPath, [CLI, 'serve', '--port', String(port)], {
        LOOPAI_DATA_DIR: tmpDataDir(),
        LOOPAI_LOG_LEVEL: 'error',
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/loopai failed to start: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
