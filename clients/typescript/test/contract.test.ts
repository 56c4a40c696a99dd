/**
 * One contract: the SDK against the OpenAPI document the real server serves at `GET /openapi.json`. A change of the
 * API that the SDK does not follow (a field renamed, added, dropped, made optional, an enum value more, an
 * operation moved) fails here, as does an SDK type or call the document does not describe.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LoopaiClient } from '../src';
import {
  compare,
  describeProblem,
  loadSdk,
  validate,
  type OpenApiDocument,
  type Operation,
  type Problem,
  type Schema,
} from './contract';
import {
  LENGTH_PROGRAM,
  SPAM_FILES,
  SPAM_PROGRAM,
  eventually,
  labelledExamples,
  spamSpec,
  startServer,
  tmpDataDir,
  writeApp,
  type LoopaiServer,
} from './helpers';

/** The SDK type (src/types.ts) that stands for each schema of the document's `components.schemas`. */
const TYPES: Record<string, string> = {
  LoopApp: 'LoopApp',
  CreatedLoopApp: 'LoopApp',
  LoopAppList: 'LoopAppList',
  NewLoopApp: 'CreateRequest',
  LoopAppSettings: 'Settings',
  Version: 'Version',
  VersionList: 'VersionList',
  ProgramUpload: 'ProgramUpload',
  ExecuteResponse: 'ExecuteResponse',
  BatchResponse: 'BatchResponse',
  BatchItemError: 'Error',
  ExamplesAdded: 'ExamplesAdded',
  ExecutionList: 'ExecutionList',
  FeedbackResponse: 'FeedbackResponse',
  ReviewQueue: 'ReviewQueue',
  ValidationList: 'ValidationList',
  Analytics: 'Analytics',
  EventList: 'EventList',
  ValidateResponse: 'ValidationReport',
  JobAccepted: 'JobAccepted',
  Job: 'Job',
  JobList: 'JobList',
  SharedArtifact: 'SharedArtifact',
  SharedArtifactList: 'SharedArtifactList',
  SharedArtifactPublish: 'SharedArtifactPublish',
  SharedVerifyReport: 'SharedVerifyReport',
};

/** Request bodies the client builds from a method's arguments: they are checked as sent (see the calls below). */
const BUILT_BY_THE_CLIENT = [
  'ExecuteRequest',
  'BatchRequest',
  'ExamplesRequest',
  'FeedbackRequest',
  'ForceRequest',
  'DeprecateRequest',
];

/**
 * Where the SDK knowingly says more than the document. Each is a gap of the document (src/domain/api-schemas.ts,
 * src/http/openapi.ts), not of the SDK; the test below checks the server's real answers have these fields. An entry
 * that no longer disagrees fails the test too: delete it once the document is fixed.
 */
const KNOWN_GAPS: Record<string, string> = {
  // The document's LoopApp reuses the settings schema of config.yaml, where every setting is optional; the server
  // answers with every setting filled in from its defaults (withDefaults), so the SDK has them required.
  ...Object.fromEntries(
    [
      'input_schema',
      'output_schema',
      'sampling',
      'sampling.rate',
      'sampling.strategy',
      'validation',
      'validation.oracle',
      'validation.schedule',
      'validation.min_samples',
      'validation.accuracy_threshold',
      'improvement',
      'improvement.auto',
      'improvement.promotion',
      'improvement.canary_percent',
      'rollout',
      'rollout.candidate',
      'rollout.percent',
      'privacy',
      'privacy.store_inputs',
      'privacy.redact',
      'retention_days',
      'execution',
      'execution.timeout_ms',
      'execution.memory_mb',
      'execution.max_result_bytes',
      'execution.in_process',
    ].map((p) => [`required-only-in-sdk LoopApp.${p}`, 'settings are answered with their defaults']),
  ),
  'not-in-document CreatedLoopApp.version':
    'the 201 answer of POST /loop-apps has the first version too; the document says LoopApp',
  'optional-only-in-sdk NewLoopApp.loop_app_id': 'createApp fills it in from the app the client is bound to',
  'required-only-in-sdk Version.parent': 'every version has a parent, null for the first',
  'required-only-in-sdk Version.seen.examples': 'what a version learned from has both figures',
  'required-only-in-sdk Version.seen.held_out': 'what a version learned from has both figures',
  ...Object.fromEntries(
    ['version', 'accuracy', 'candidate_accuracy', 'n'].map((p) => [
      `required-only-in-sdk Comparison.${p}`,
      'a comparison has all its figures',
    ]),
  ),
  'required-only-in-sdk PendingSample.confidence':
    'a sample has the confidence of its execution (maybe null)',
  ...Object.fromEntries(
    [
      'latency_ms.p50',
      'latency_ms.p95',
      'latency_ms.p99',
      'correct',
      'accuracy_ci',
      'oracle_calls',
      'oracle_calls_avoided',
      'estimated_savings',
    ].map((p) => [`required-only-in-sdk DailyStat.${p}`, 'every day row has every figure']),
  ),
  ...Object.fromEntries(
    [
      'active_version',
      'errors',
      'samples',
      'validations',
      'oracle_share',
      'estimated_savings',
      'accuracy_ci',
      'accuracy_window',
      'dropped',
    ].map((p) => [`required-only-in-sdk Analytics.summary.${p}`, 'the summary has every figure']),
  ),
  // The operation's request body is ProgramUpload; its summary says `{"regenerate": true}` is taken as well.
  'body POST /loop-apps/{id}/versions regenerate': 'the document does not describe {"regenerate": true}',
};

const gapKey = (p: Problem) => `${p.kind} ${p.path}`;

/** Each public method of LoopaiClient, called with arguments that make one request (`forApp` makes none). */
const CALLS: Record<string, (c: LoopaiClient) => Promise<unknown>> = {
  execute: (c) => c.execute({ text: 'hi' }),
  executeBatch: (c) => c.executeBatch([{ text: 'hi' }, { text: 'there' }]),
  listApps: (c) => c.listApps(),
  getApp: (c) => c.getApp(),
  createApp: (c) =>
    c.createApp({ ...spamSpec('contract-app'), program: { code: SPAM_PROGRAM, files: SPAM_FILES } }),
  updateApp: (c) => c.updateApp({ sampling: { rate: 1, strategy: 'random' }, execution: { timeout_ms: 20 } }),
  pause: (c) => c.pause(),
  resume: (c) => c.resume(),
  archive: (c) => c.archive(),
  addExamples: (c) => c.addExamples([{ input: { text: 'hi' }, output: 'ham' }]),
  uploadExamples: (c) =>
    c.uploadExamples('text,label\nhi,ham\n', { format: 'csv', input: ['text'], output: ['label'] }),
  exportExamples: (c) => c.exportExamples(),
  listSharedArtifacts: (c) => c.listSharedArtifacts(),
  getSharedArtifact: (c) => c.getSharedArtifact({ type: 'model', name: 'base', version: 'v1' }),
  publishSharedArtifact: (c) =>
    c.publishSharedArtifact({ type: 'model', name: 'base', version: 'v1', files: { 'w.json': '[]' } }),
  verifySharedArtifacts: (c) => c.verifySharedArtifacts(),
  deleteSharedArtifact: (c) => c.deleteSharedArtifact({ type: 'model', name: 'base', version: 'v1' }),
  listVersions: (c) => c.listVersions(),
  getVersion: (c) => c.getVersion('v7'),
  uploadVersion: (c) => c.uploadVersion({ code: LENGTH_PROGRAM, files: { 'a.json': '[]' } }),
  regenerate: (c) => c.regenerate(),
  activate: (c) => c.activate('v7', { force: true }),
  rollback: (c) => c.rollback({ force: true }),
  deprecate: (c) => c.deprecate('v7', { reason: 'too old' }),
  reinstate: (c) => c.reinstate('v7'),
  executions: (c) => c.executions({ limit: 5 }),
  feedback: (c) => c.feedback('00000000-0000-4000-8000-000000000000', 'spam'),
  reviewQueue: (c) => c.reviewQueue({ limit: 5 }),
  validations: (c) => c.validations({ limit: 5, correct: false }),
  analytics: (c) => c.analytics(),
  events: (c) => c.events({ limit: 5 }),
  validate: (c) => c.validate(),
  improve: (c) => c.improve(),
  getJob: (c) => c.getJob('job_1'),
  listJobs: (c) => c.listJobs(),
  waitForJob: (c) => c.waitForJob('job_1'),
};
const NO_REQUEST = ['forApp'];

interface Sent {
  method: string;
  path: string;
  query: URLSearchParams;
  /** A JSON body, parsed. */
  body: unknown;
  /** The media type of a body sent as it is (not JSON). */
  rawBody?: string;
  /** The media type the client asked for. */
  accept: string;
}

/** The document's operation for a request the client made: `{id}` and `{version}` match one path segment. */
function findOperation(doc: OpenApiDocument, method: string, path: string) {
  const matches = Object.keys(doc.paths).filter((template) => {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
  const template = matches.find((t) => doc.paths[t][method.toLowerCase()]);
  return template ? { template, operation: doc.paths[template][method.toLowerCase()] } : { matches };
}

const jsonSchemaOf = (part: { content?: Record<string, { schema?: Schema }> } | undefined) =>
  part?.content?.['application/json']?.schema;

/** The component names of an operation's success answers. */
function answerSchemas(op: Operation): string[] {
  return Object.entries(op.responses)
    .filter(([status]) => /^2\d\d$/.test(status))
    .map(([, r]) => /([^/]+)$/.exec(String(jsonSchemaOf(r)?.$ref ?? ''))?.[1] ?? '(none)');
}

describe('the SDK follows the OpenAPI document of the real server', () => {
  let server: LoopaiServer;
  let dataDir: string;
  let doc: OpenApiDocument;
  const sdk = loadSdk();

  before(async () => {
    dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-test');
    server = await startServer(dataDir);
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as OpenApiDocument;
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('every schema of the document has its SDK type, and the two agree field by field', () => {
    const named = new Set([...Object.values(TYPES), ...BUILT_BY_THE_CLIENT]);
    const unmatched = Object.keys(doc.components.schemas).filter((name) => !named.has(name));
    assert.deepEqual(unmatched, [], 'schemas of the document without an SDK type: add one to src/types.ts');

    const seen = new Map<string, Problem>();
    for (const [typeName, schemaName] of Object.entries(TYPES)) {
      const schema = { $ref: `#/components/schemas/${schemaName}` };
      for (const p of compare(doc, sdk.checker, schema, sdk.type(typeName), {
        at: typeName,
        decl: typeName,
      })) {
        const key = `${gapKey(p)} ${p.message}`;
        if (!seen.has(key)) seen.set(key, p);
      }
    }
    const problems = [...seen.values()];
    const unexpected = problems.filter((p) => !(gapKey(p) in KNOWN_GAPS)).map(describeProblem);
    assert.deepEqual(
      unexpected,
      [],
      `src/types.ts and GET /openapi.json disagree:\n${unexpected.join('\n')}`,
    );

    const typeGaps = Object.keys(KNOWN_GAPS).filter((k) => !k.startsWith('body '));
    const stale = typeGaps.filter((k) => !problems.some((p) => gapKey(p) === k));
    assert.deepEqual(stale, [], 'KNOWN_GAPS entries the document no longer disagrees with: delete them');
  });

  it('every method calls a documented operation, sends what it documents, and resolves to its answer type', async () => {
    const methods = sdk.clientMethods();
    assert.deepEqual(
      [...methods.keys()].filter((m) => !NO_REQUEST.includes(m)).sort(),
      Object.keys(CALLS).sort(),
      'a method of LoopaiClient without a call in CALLS (or a call for a method that is gone)',
    );

    const failures: string[] = [];
    const bodyGaps = new Set<string>();
    for (const [name, call] of Object.entries(CALLS)) {
      const sent: Sent[] = [];
      const client = new LoopaiClient('contract-app', {
        baseUrl: 'http://contract.invalid',
        maxRetries: 0,
        fetch: async (url, init) => {
          const u = new URL(url);
          const json = init.headers['content-type'] === 'application/json';
          sent.push({
            method: init.method,
            path: u.pathname,
            query: u.searchParams,
            body: init.body === undefined || !json ? undefined : JSON.parse(String(init.body)),
            rawBody: init.body === undefined || json ? undefined : init.headers['content-type'],
            accept: init.headers.accept,
          });
          const answer = JSON.stringify({ job_id: 'job_1', state: 'succeeded' });
          return { status: 200, headers: { get: () => null }, text: async () => answer };
        },
      });
      await call(client);
      if (sent.length !== 1) failures.push(`${name}: made ${sent.length} requests, not 1`);

      for (const { method, path, query, body, rawBody, accept } of sent) {
        const found = findOperation(doc, method, path);
        if (!('operation' in found) || !found.operation) {
          failures.push(
            `${name}: ${method} ${path} is not in the document (paths that match: ${found.matches})`,
          );
          continue;
        }
        const { template, operation } = found;
        const label = `${name}: ${method} ${template}`;
        const documentedQuery = (operation.parameters ?? [])
          .filter((p) => p.in === 'query')
          .map((p) => p.name);
        for (const key of query.keys()) {
          if (!documentedQuery.includes(key))
            failures.push(`${label}: query parameter ${key} is not documented`);
        }
        const bodySchema = jsonSchemaOf(operation.requestBody);
        if (rawBody !== undefined && !operation.requestBody?.content?.[rawBody])
          failures.push(`${label}: sends ${rawBody}, the document does not take it`);
        if (body !== undefined && !bodySchema) failures.push(`${label}: sends a body, the document has none`);
        if (body === undefined && rawBody === undefined && bodySchema)
          failures.push(`${label}: the document requires a body, none sent`);
        if (body !== undefined && bodySchema) {
          const errors = validate(doc, bodySchema, body);
          const gap = `body ${method} ${template} ${Object.keys(body as object).join(',')}`;
          if (errors.length && gap in KNOWN_GAPS) bodyGaps.add(gap);
          else failures.push(...errors.map((e) => `${label}: body ${e}`));
        }
        if (accept !== 'application/json') {
          // a stream of records: the document must answer in the media type asked for
          const media = Object.values(operation.responses).flatMap((r) => Object.keys(r.content ?? {}));
          if (!media.includes(accept))
            failures.push(`${label}: asks for ${accept}, the document answers ${media}`);
          continue;
        }
        const answers = answerSchemas(operation);
        for (const typeName of methods.get(name) ?? []) {
          // nothing to resolve to: the document answers no body
          if (typeName === 'void' && answers.every((a) => a === '(none)')) continue;
          if (!answers.includes(TYPES[typeName])) {
            failures.push(`${label}: resolves to ${typeName}, the document answers ${answers.join(' or ')}`);
          }
        }
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    const knownBodyGaps = Object.keys(KNOWN_GAPS).filter((k) => k.startsWith('body '));
    assert.deepEqual([...bodyGaps].sort(), knownBodyGaps.sort(), 'KNOWN_GAPS body entries no longer needed');
  });

  it('the fields the SDK types have beyond the document are in the real answers', async () => {
    const app = new LoopaiClient('contract-live', { baseUrl: server.url });
    // Every execution sampled and left for a person, so the review queue and the day rows have something.
    const created = await app.createApp({
      ...spamSpec('contract-live'),
      program: { code: SPAM_PROGRAM, files: SPAM_FILES },
      examples: labelledExamples(),
      sampling: { rate: 1, strategy: 'random' },
      validation: { oracle: 'human' },
      improvement: { auto: false },
    });
    const done = await app.execute({ text: 'free prize inside' });
    await app.feedback(done.execution_id, 'spam');
    await app.execute({ text: 'lunch at noon' });
    const pending = await eventually(async () => {
      const { pending } = await app.reviewQueue();
      assert.ok(pending.length > 0, 'a sample waits for review');
      return pending[0];
    });
    const analytics = await eventually(async () => {
      const answer = await app.analytics();
      assert.ok(answer.days.length > 0, 'a day row');
      return answer;
    });
    const job = await app.waitForJob(await app.regenerate(), { intervalMs: 100 });
    const regenerated = await app.getVersion(job.result!.version);
    assert.ok(regenerated.compared_with, 'a regenerated version is compared with the active one');

    const samples: Record<string, unknown> = {
      LoopApp: await app.getApp(),
      CreatedLoopApp: created,
      Version: regenerated,
      Comparison: regenerated.compared_with,
      PendingSample: pending,
      DailyStat: analytics.days[0],
      Analytics: analytics,
    };
    const missing: string[] = [];
    for (const key of Object.keys(KNOWN_GAPS)) {
      const [kind, dotted] = key.split(' ');
      if (kind !== 'required-only-in-sdk' && kind !== 'not-in-document') continue;
      const [typeName, ...fields] = dotted.split('.');
      assert.ok(typeName in samples, `no real answer of ${typeName} to check ${dotted} with`);
      let value = samples[typeName];
      for (const field of fields) {
        if (value === null || typeof value !== 'object' || !(field in value)) {
          missing.push(dotted);
          break;
        }
        value = (value as Record<string, unknown>)[field];
      }
    }
    assert.deepEqual(missing, [], 'the SDK requires fields the server did not send');
  });
});
