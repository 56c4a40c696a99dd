import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  LoopaiClient,
  LoopaiError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '../src';
import type { ExecuteResponse } from '../src';
import {
  LENGTH_PROGRAM,
  SPAM_FILES,
  SPAM_PROGRAM,
  eventually,
  labelledExamples,
  rejectsWith,
  spamSpec,
  startServer,
  tmpDataDir,
  writeApp,
  type LoopaiServer,
} from './helpers';

const program = { code: SPAM_PROGRAM, files: SPAM_FILES };

describe('LoopaiClient against the real server', () => {
  let server: LoopaiServer;
  let dataDir: string;
  const client = (appId: string | null = 'spam-test', options = {}) =>
    new LoopaiClient(appId, { baseUrl: server.url, ...options });

  before(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-test');
    server = await startServer(dataDir);
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('executing', () => {
    it('works as the README shows, with the server from LOOPAI_URL', async () => {
      process.env.LOOPAI_URL = server.url;
      try {
        const result = await new LoopaiClient('spam-test').execute({ text: 'You win a FREE prize' });
        assert.equal(result.output, 'spam');
      } finally {
        delete process.env.LOOPAI_URL;
      }
    });

    it('resolves to the execute response', async () => {
      const result: ExecuteResponse<'spam' | 'ham'> = await client().execute({ text: 'see you at lunch' });
      assert.equal(result.output, 'ham');
      assert.equal(result.confidence, 0.6);
      assert.equal(result.loop_app_id, 'spam-test');
      assert.equal(result.version, 'v1');
      assert.equal(typeof result.execution_id, 'string');
      assert.equal(typeof result.sampled, 'boolean'); // spam-test samples 5 %, at random
      assert.ok(result.latency_ms > 0);
    });

    it('samples every execution at sampling rate 1 and none at rate 0', async () => {
      const app = client('ts-sampling');
      await app.createApp({ ...spamSpec('ts-sampling'), program, validation: { oracle: 'human' } });
      const run = async (n: number) =>
        Promise.all(Array.from({ length: n }, (_, i) => app.execute({ text: `message ${i}` })));

      const all = await app.updateApp({ sampling: { rate: 1, strategy: 'random' } });
      assert.deepEqual(all.sampling, { rate: 1, strategy: 'random' });
      const sampled = await run(20);
      assert.deepEqual(
        sampled.map((r) => r.sampled),
        Array(20).fill(true),
      );
      // A sampled execution waits for a verdict.
      await eventually(async () => assert.equal((await app.reviewQueue()).total, 20));

      const none = await app.updateApp({ sampling: { rate: 0 } });
      assert.deepEqual(none.sampling, { rate: 0, strategy: 'random' }, 'a PATCH changes only what it names');
      const unsampled = [
        ...(await run(20)),
        ...(await app.executeBatch([{ text: 'a' }, { text: 'b' }])).results,
      ];
      assert.deepEqual(
        unsampled.map((r) => ('sampled' in r ? r.sampled : r.error.code)),
        Array(22).fill(false),
      );
      await app.updateApp({ sampling: { strategy: 'uncertainty' } });
      assert.deepEqual(
        (await run(20)).map((r) => r.sampled),
        Array(20).fill(false),
        'rate 0 samples nothing with either strategy',
      );

      // The execution log says the same, and nothing more waits for review.
      const logged = await eventually(async () => {
        const { executions } = await app.executions({ limit: 100 });
        assert.equal(executions.length, 62);
        return new Map(executions.map((e) => [e.id, e]));
      });
      for (const r of sampled) assert.equal(logged.get(r.execution_id)?.sampled, true);
      for (const r of sampled) assert.equal(logged.get(r.execution_id)?.sample_rule, 'random');
      const ids = unsampled.flatMap((r) => ('execution_id' in r ? [r.execution_id] : []));
      for (const id of ids) assert.notEqual(logged.get(id)?.sampled, true);
      assert.equal((await app.reviewQueue()).total, 20);
    });

    it('answers a batch in order, with per-item errors', async () => {
      const { results } = await client().executeBatch([
        { text: 'free prize' },
        { nope: 1 },
        { text: 'lunch?' },
      ]);
      assert.deepEqual(
        results.map((r) => ('output' in r ? r.output : r.error.code)),
        ['spam', 'invalid_input', 'ham'],
      );
    });

    it('rejects an unknown app, version or job with NotFoundError', async () => {
      const error = await rejectsWith(
        client().forApp('no-such-app').execute({ text: 'hi' }),
        NotFoundError,
        404,
        'not_found',
      );
      assert.match(error.message, /no-such-app/);
      await rejectsWith(client().getJob('job_nope'), NotFoundError, 404, 'not_found');
      await rejectsWith(client().getVersion('v9'), NotFoundError, 404, 'not_found');
    });

    it('rejects bad input and bad settings with ValidationError and the details', async () => {
      const bad = await rejectsWith(client().execute({ nope: 1 }), ValidationError, 400, 'invalid_input');
      assert.match(JSON.stringify(bad.details), /text/, 'the details name the missing field');
      const settings = await rejectsWith(
        client().updateApp({ sampling: { rate: 3 } }),
        ValidationError,
        400,
        'invalid_settings',
      );
      assert.match(JSON.stringify(settings.details), /rate/);
    });

    it('needs an app for app methods, and says so without a request', async () => {
      await assert.rejects(client(null).execute({ text: 'hi' }), /not bound to a Loop App/);
      assert.throws(() => new LoopaiClient('', { baseUrl: server.url }), /appId/);
      assert.throws(() => new LoopaiClient('x', { baseUrl: 'localhost:8080' }), /http:\/\/ or https:\/\//);
    });

    it('uploads JSON Lines and CSV files (beyond one JSON body) and exports what is stored', async () => {
      const app = client().forApp('upload-test');
      await app.createApp({ ...spamSpec('upload-test'), generate: false });
      const rows = Array.from({ length: 5000 }, (_, i) => ({
        input: { text: `message ${i} ${'padding '.repeat(30)}` },
        output: i % 2 ? 'spam' : 'ham',
      }));
      const jsonl = rows.map((r) => JSON.stringify(r)).join('\n');
      assert.ok(jsonl.length > 1024 * 1024, 'larger than the JSON body limit');
      assert.equal((await app.uploadExamples(jsonl)).added, 5000);
      const csv = 'text,label\n"free, free prize",spam\nlunch?,ham\n';
      const added = await app.uploadExamples(new TextEncoder().encode(csv), {
        format: 'csv',
        input: ['text'],
        output: ['label'],
      });
      assert.equal(added.added, 2);
      const exported = (await app.exportExamples()).map(({ input, output }) => ({ input, output }));
      assert.equal(exported.length, 5002);
      assert.deepEqual(exported[0], rows[0]);
      assert.deepEqual(exported.slice(-2), [
        { input: { text: 'free, free prize' }, output: 'spam' },
        { input: { text: 'lunch?' }, output: 'ham' },
      ]);
      // one bad row: nothing stored, the row named by its line
      await assert.rejects(
        app.uploadExamples('{"input": {"text": "x"}, "output": "maybe"}'),
        (err: LoopaiError) => {
          assert.equal(err.code, 'invalid_examples');
          assert.equal((err.details as { rows: Array<{ line: number }> }).rows[0].line, 1);
          return true;
        },
      );
      assert.equal((await app.exportExamples()).length, 5002);
    });

    it('adds examples and finds an execution in the log', async () => {
      const app = client();
      const added = await app.addExamples([{ input: { text: 'free money' }, output: 'spam' }]);
      assert.equal(added.added, 1);
      assert.ok(added.total >= 1);
      const done = await app.execute({ text: 'a message to find in the log' });
      // The execution log is written in the background; it shows up within its flush interval.
      const found = await eventually(async () => {
        const { executions } = await app.executions({ limit: 5 });
        const match = executions.find((e) => e.id === done.execution_id);
        assert.ok(match, 'the execution is in the log');
        return match;
      });
      assert.deepEqual(found.input, { text: 'a message to find in the log' });
      const { loop_apps } = await app.listApps();
      assert.ok(loop_apps.some((a) => a.loop_app_id === 'spam-test'));
    });
  });

  describe('managing Loop Apps', () => {
    it('creates an app with a program, uploads, activates and rolls back versions', async () => {
      const app = client('ts-lifecycle');
      const created = await app.createApp({ ...spamSpec('ts-lifecycle'), program });
      assert.equal(created.current_version, 'v1');
      assert.equal(created.version.version, 'v1');
      assert.equal(created.endpoint, '/loop-apps/ts-lifecycle/execute');
      await rejectsWith(
        app.createApp({ ...spamSpec('ts-lifecycle'), program }),
        ValidationError,
        409,
        'conflict',
      );

      const longText = { text: 'a fairly long message here' };
      const uploaded = await app.uploadVersion({ code: LENGTH_PROGRAM });
      assert.deepEqual([uploaded.version, uploaded.status, uploaded.parent], ['v2', 'testing', 'v1']);
      assert.equal((await app.execute(longText)).version, 'v1', 'an upload does not serve until activated');

      assert.equal((await app.activate('v2')).status, 'active');
      const onV2 = await app.execute(longText);
      assert.deepEqual([onV2.version, onV2.output], ['v2', 'spam']);
      const { versions } = await app.listVersions();
      assert.deepEqual(
        versions.map((v) => v.status),
        ['retired', 'active'],
      );
      assert.equal((await app.getVersion('v2')).generator, 'upload');

      const rolledBack = await app.rollback();
      assert.deepEqual([rolledBack.version, rolledBack.status], ['v1', 'active']);
      assert.equal((await app.getApp()).current_version, 'v1');
      await rejectsWith(app.rollback(), ValidationError, 409, 'conflict');

      const broken = await rejectsWith(
        app.uploadVersion({ code: 'function execute(input) { return {' }),
        ValidationError,
        422,
        'invalid_program',
      );
      assert.ok(broken.message);
    });

    it('a paused app is unavailable; a retrying call finds it resumed; an archived one is gone', async () => {
      const app = client('ts-pause', { maxRetries: 0 });
      await app.createApp({ ...spamSpec('ts-pause'), program });
      assert.equal((await app.pause()).status, 'paused');
      const paused = await rejectsWith(app.execute({ text: 'hi' }), UnavailableError, 503, 'paused');
      assert.match(paused.message, /resume/);

      // 503 is retried: resume the app while a retrying call waits out its backoff.
      const resumed = new Promise((resolve) => setTimeout(resolve, 300)).then(() => app.resume());
      const retried = await client('ts-pause', { maxRetries: 5 }).execute({ text: 'hi' });
      assert.equal(retried.output, 'ham');
      assert.equal((await resumed).status, 'active');

      assert.equal((await app.archive()).status, 'archived');
      const gone = await rejectsWith(app.execute({ text: 'hi' }), LoopaiError, 410, 'archived');
      assert.ok(!(gone instanceof ValidationError) && !(gone instanceof NotFoundError));
    });

    it('waits for a generation job: an app made from examples only', async () => {
      const app = client('ts-learned');
      const accepted = await app.createApp({ ...spamSpec('ts-learned'), examples: labelledExamples() });
      assert.ok(['queued', 'running'].includes(accepted.state), accepted.state);
      assert.equal(accepted.job_url, `/jobs/${accepted.job_id}`);

      const impatient = await rejectsWith(
        app.waitForJob(accepted.job_id, { timeoutMs: 0 }),
        TimeoutError,
        undefined,
        'job_timeout',
      );
      assert.equal((impatient.details?.job as { job_id: string }).job_id, accepted.job_id);

      const job = await app.waitForJob(accepted.job_id, { timeoutMs: 60_000, intervalMs: 100 });
      assert.equal(job.state, 'succeeded');
      assert.equal(job.result?.version, 'v1');
      assert.ok(job.progress.length > 0);
      assert.equal((await app.execute({ text: 'win a free prize now' })).output, 'spam');
      // The answer that started the job works too; a finished job comes back at once.
      assert.equal((await app.waitForJob(accepted, { timeoutMs: 0 })).job_id, accepted.job_id);
      assert.ok((await app.listJobs()).jobs.some((j) => j.job_id === accepted.job_id));
    });
  });

  describe('the improvement loop', () => {
    it('review queue, feedback, validations, analytics, validate, events, regenerate and improve', async () => {
      const app = client('ts-loop');
      // Every execution sampled, checked by a person (feedback) rather than an LLM.
      await app.createApp({
        ...spamSpec('ts-loop'),
        program,
        examples: labelledExamples(),
        sampling: { rate: 1, strategy: 'random' },
        validation: { oracle: 'human' },
        improvement: { auto: false },
      });
      const done = await app.execute({ text: 'see you at the prize ceremony' });
      assert.equal(done.output, 'spam');
      assert.equal(done.sampled, true);

      const queue = await eventually(async () => {
        const q = await app.reviewQueue({ limit: 10 });
        assert.ok(
          q.pending.some((p) => p.execution_id === done.execution_id),
          'the sample waits for review',
        );
        return q;
      });
      assert.ok(queue.total >= 1);

      const verdict = await app.feedback(done.execution_id, 'ham');
      assert.deepEqual(
        [verdict.program_output, verdict.expected_output, verdict.correct],
        ['spam', 'ham', false],
      );
      const { validations } = await app.validations({ limit: 10, correct: false });
      assert.equal(validations[0]?.execution_id, done.execution_id);
      assert.deepEqual((await app.validations({ correct: true })).validations, []);

      const analytics = await app.analytics();
      assert.equal(analytics.loop_app_id, 'ts-loop');
      assert.equal(analytics.summary.validations, 1);
      assert.equal(analytics.summary.accuracy, 0);

      const pass = await app.validate();
      assert.equal(typeof pass.pending, 'number');

      const regenerated = await app.waitForJob(await app.regenerate(), { intervalMs: 100 });
      assert.equal(regenerated.result?.version, 'v2');
      const improved = await app.waitForJob(await app.improve(), { intervalMs: 100 });
      assert.equal(improved.result?.version, 'v3');
      assert.ok(improved.result?.decision, 'the improvement job says what became of its candidate');
      const { events } = await app.events({ limit: 10 });
      assert.ok(events.length > 0);
      assert.ok(events.every((e) => e.loop_app_id === 'ts-loop'));
    });
  });
});
