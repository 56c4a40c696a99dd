import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionRecord } from '../../src/domain/types';
import type { RunningServer } from '../../src/server';
import { Layout } from '../../src/store/layout';
import { ExecutionLog } from '../../src/telemetry/execution-log';
import { Metrics } from '../../src/telemetry/metrics';
import { spamConfig, SPAM_PROGRAM, tmpDataDir, writeApp } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';
import { startTeacher } from '../helpers/teacher';

/**
 * A full disk, for real and without root: on Linux every write to /dev/full fails with ENOSPC, so a data file
 * replaced by a symlink to it is a file on a full disk (removing the link is space coming back). Files the store
 * writes under fresh temporary names cannot be pointed there; they share the same write helpers.
 */
const fillUp = (file: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  fs.symlinkSync('/dev/full', file);
};
const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const TS = '2025-06-01T12:00:00.000Z';
const record = (id: string): ExecutionRecord => ({
  id,
  ts: TS,
  version: 'v1',
  input: { text: `message ${id}` },
  output: 'ham',
  confidence: 0.9,
  latency_ms: 0.2,
  status: 'ok',
});

describe('execution log on a full disk', () => {
  let dataDir: string;
  let file: string;
  let layout: Layout;

  beforeEach(() => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'log-app');
    layout = new Layout(dataDir);
    file = layout.executions('log-app', TS.slice(0, 10));
  });

  test('lines a full disk refused are written once space is back, after the torn tail it left', async () => {
    const errors: unknown[] = [];
    const log = new ExecutionLog(layout, 60_000, (err) => errors.push(err));
    log.append('log-app', record('a'));
    await log.flush(); // the first append of the process has been made: the file is known and whole

    const aside = `${file}.aside`;
    fs.renameSync(file, aside);
    fs.symlinkSync('/dev/full', file);
    log.append('log-app', record('b'));
    await log.flush();
    expect(errors).toEqual([expect.objectContaining({ status: 507, code: 'insufficient_storage' })]);

    // the disk has room again, and the failed write had left half a record behind
    fs.appendFileSync(aside, '{"id":"torn","ts":"2025-06-01T12:');
    fs.renameSync(aside, file);
    log.append('log-app', record('c'));
    await log.flush();
    expect(lines(file).map((line) => JSON.parse(line).id)).toEqual(['a', 'b', 'c']);
    expect(errors).toHaveLength(1);
  });

  test('the backlog of unwritten lines is bounded: its oldest lines are dropped and counted', async () => {
    const metrics = new Metrics();
    const lineChars = JSON.stringify(record('r1')).length + 1;
    const log = new ExecutionLog(layout, 60_000, () => undefined, {
      maxBacklogChars: Math.floor(3.5 * lineChars), // room for three lines
      onDrop: (_file, count) => metrics.executionLinesDropped(count),
    });
    fillUp(file);
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) log.append('log-app', record(id));
    await log.flush(); // keeps r3..r5
    for (const id of ['r6', 'r7']) log.append('log-app', record(id));
    await log.flush(); // keeps r5..r7

    fs.rmSync(file);
    log.append('log-app', record('r8'));
    await log.flush();
    expect(lines(file).map((line) => JSON.parse(line).id)).toEqual(['r5', 'r6', 'r7', 'r8']);
    expect(await metrics.text()).toMatch(/^loopai_execution_log_dropped_total 4$/m);
  });
});

describe('a full disk answers 507 insufficient_storage and leaves nothing half-written', () => {
  let server: RunningServer;
  let dataDir: string;
  let teacher: Awaited<ReturnType<typeof startTeacher>>;
  const answer = (label: string) => `function execute() { return { result: '${label}', confidence: 1 }; }`;
  const appFile = (id: string, ...parts: string[]) => path.join(dataDir, 'loop-apps', id, ...parts);
  const exec = (id: string) =>
    call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text: 'hi' } });

  beforeAll(async () => {
    teacher = await startTeacher();
    dataDir = tmpDataDir();
    writeApp(dataDir, 'full-app', {
      versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
      active: 'v1',
    });
    writeApp(dataDir, 'judged-app', {
      config: spamConfig('judged-app', {
        sampling: { rate: 1, strategy: 'random' },
        validation: { schedule: '0 0 1 1 *', oracle: 'http', http: { url: teacher.url, timeout_ms: 2000 } },
      }),
      versions: [{ 'program.js': SPAM_PROGRAM, 'words.json': '["win"]' }],
    });
    server = await startTestServer(dataDir);
  });
  afterAll(async () => {
    await server.close();
    await teacher.close();
  });

  test('POST examples: 507 saying the disk is full and what was not saved; stored whole once space is back', async () => {
    const file = appFile('full-app', 'datasets', 'examples.jsonl');
    fillUp(file);
    const rows = [
      { input: { text: 'win a prize' }, output: 'spam' },
      { input: { text: 'see you' }, output: 'ham' },
    ];
    const refused = await call(server.url, 'POST', '/loop-apps/full-app/examples', rows);
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('insufficient_storage');
    expect(refused.body.error.message).toMatch(/disk is full: 2 examples could not be saved/);

    fs.rmSync(file);
    expect((await call(server.url, 'POST', '/loop-apps/full-app/examples', rows)).status).toBe(201);
    expect(lines(file).map((line) => JSON.parse(line).input.text)).toEqual(['win a prize', 'see you']);
  });

  test('activation: 507, `active` is left as it was and the old version keeps serving', async () => {
    const activations = appFile('full-app', 'artifacts', 'activations.jsonl');
    fillUp(activations);
    const refused = await call(server.url, 'POST', '/loop-apps/full-app/versions/v2/activate');
    expect(refused.status).toBe(507);
    expect(refused.body.error.message).toMatch(/disk is full: the activation of v2/);
    expect(fs.readlinkSync(appFile('full-app', 'artifacts', 'active'))).toBe('v1');
    expect((await exec('full-app')).body).toMatchObject({ version: 'v1', output: 'ham' });

    fs.rmSync(activations);
    expect((await call(server.url, 'POST', '/loop-apps/full-app/versions/v2/activate')).status).toBe(200);
    expect((await exec('full-app')).body).toMatchObject({ version: 'v2', output: 'spam' });
  });

  test('validation: 507 while verdicts cannot be stored; the samples wait and are judged later', async () => {
    for (const text of ['win now', 'hello']) {
      await call(server.url, 'POST', '/loop-apps/judged-app/execute', { input: { text } });
    }
    const examples = appFile('judged-app', 'datasets', 'examples.jsonl');
    fillUp(examples);
    const refused = await call(server.url, 'POST', '/loop-apps/judged-app/validate');
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('insufficient_storage');

    fs.rmSync(examples);
    const report = await call(server.url, 'POST', '/loop-apps/judged-app/validate');
    expect(report.body).toMatchObject({ validated: 2, pending: 0 });
  });

  test('GET /metrics counts execution log lines given up', async () => {
    const metrics = await call(server.url, 'GET', '/metrics');
    expect(metrics.body).toMatch(/^loopai_execution_log_dropped_total 0$/m);
  });
});

test('start-up removes what interrupted writes left, and nothing else', async () => {
  const dataDir = tmpDataDir();
  const app = writeApp(dataDir, 'kept-app');
  const put = (rel: string, text = 'x') => {
    const file = path.join(dataDir, 'loop-apps', rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  const leftovers = [
    '.tmp-new-x', // a folder: an app being created
    'kept-app/.tmp-write-0b1f', // a config.yaml being replaced
    'kept-app/artifacts/.tmp-version-77aa', // a version being written
    'kept-app/artifacts/v1/.tmp-write-1c2d',
    'kept-app/datasets/validations/.tmp-write-3e4f',
    'kept-app/config.yaml.2864434397', // write-file-atomic, earlier releases
    'kept-app/artifacts/active.tmp-4242-1717171717171', // a swap link, earlier releases
    'kept-app/artifacts/.tmp-link-5a6b',
  ];
  put('.tmp-new-x/config.yaml');
  put('kept-app/.tmp-write-0b1f');
  put('kept-app/artifacts/.tmp-version-77aa/program.js');
  put('kept-app/artifacts/v1/.tmp-write-1c2d');
  put('kept-app/datasets/validations/.tmp-write-3e4f');
  put('kept-app/config.yaml.2864434397');
  fs.symlinkSync('v1', path.join(app, 'artifacts', 'active.tmp-4242-1717171717171'));
  fs.symlinkSync('v1', path.join(app, 'artifacts', '.tmp-link-5a6b'));
  put('kept-app/datasets/examples.jsonl', '{"input":{"text":"a"},"output":"ham"}\n');
  put('kept-app/artifacts/v1/notes.tmp', 'a file of the version, not a leftover');
  const before = fs.readdirSync(path.join(app, 'artifacts', 'v1')).filter((n) => !n.startsWith('.tmp-'));

  const server = await startTestServer(dataDir);
  try {
    for (const rel of leftovers) {
      expect(fs.existsSync(path.join(dataDir, 'loop-apps', rel)) ? rel : null).toBeNull();
    }
    expect(fs.readdirSync(path.join(app, 'artifacts', 'v1')).sort()).toEqual(before.sort());
    expect(fs.readlinkSync(path.join(app, 'artifacts', 'active'))).toBe('v1');
    expect(fs.readFileSync(path.join(app, 'datasets', 'examples.jsonl'), 'utf8')).toMatch(/"a"/);
    const res = await call(server.url, 'POST', '/loop-apps/kept-app/execute', { input: { text: 'win' } });
    expect(res.body.output).toBe('spam');
  } finally {
    await server.close();
  }
});
