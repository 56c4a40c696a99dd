import fc from 'fast-check';
import type { RunningServer } from '../../src/server';
import { tmpDataDir, writeApp } from '../helpers/apps';
import { startTestServer } from '../helpers/server';

/**
 * A small property-based fuzzer of the HTTP API, bounded in runs and time: random methods, paths built from the
 * API's own words and hostile pieces, content types and bodies. No request may answer 500, and the server must
 * keep answering. The 5xx codes allowed are the states a request of the fuzzer itself can cause (an app it
 * paused, a version it activated that cannot load), never `internal_error`.
 */
const STATE_5XX = new Set(['paused', 'no_active_version', 'load_error', 'program_timeout', 'program_memory']);

const WORDS = [
  'loop-apps',
  'spam',
  'other',
  'execute',
  'batch',
  'versions',
  'v1',
  'v2',
  'v0',
  'v99999999999',
  'activate',
  'rollback',
  'examples',
  'executions',
  'feedback',
  'review-queue',
  'validations',
  'analytics',
  'events',
  'validate',
  'improve',
  'pause',
  'resume',
  'archive',
  'jobs',
  'metrics',
  'health',
  'docs',
];
const HOSTILE = [
  '%',
  '%zz',
  '%ff',
  '%00',
  '..',
  '%2e%2e',
  '%2F',
  '__proto__',
  'constructor',
  'LOOP-APPS',
  '',
  'a'.repeat(300),
  '\u00e9',
  '%F0%9F%92%A9',
  '?limit=0',
  '?limit=1e9',
  '?limit=-1',
  '?loop_app_id[]=x',
];

const segment = fc.oneof(
  fc.constantFrom(...WORDS),
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const pathArb = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => '/' + parts.join('/'));
const methodArb = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
const typeArb = fc.constantFrom(
  'application/json',
  'application/x-ndjson',
  'text/plain',
  'application/merge-patch+json',
  '',
);
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const bodyArb = fc.oneof(
  fc.json({ depthSize: 'medium' }),
  fc.jsonValue().map((input) => JSON.stringify({ input })),
  fc.array(fc.jsonValue(), { maxLength: 5 }).map((inputs) => JSON.stringify({ inputs })),
  fc
    .record({ input: fc.record({ text: fc.string() }), output: fc.constantFrom('spam', 'ham', 1, null) })
    .map((r) => JSON.stringify([r])),
  fc
    .record({
      loop_app_id: fc.constantFrom('spam', 'new-app', '__proto__', 'x'),
      task: fc.string(),
      input_schema: fc.jsonValue(),
      output_schema: fc.jsonValue(),
    })
    .map((r) => JSON.stringify(r)),
  fc.constantFrom(
    '{',
    '{"input":',
    deep(200),
    '\u0000',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
  ),
  fc.string({ maxLength: 200 }),
);

describe('HTTP fuzzer', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam');
    writeApp(dataDir, 'other');
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('no 500 and a live server, whatever is sent', async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(methodArb, pathArb, typeArb, bodyArb, async (method, path, type, body) => {
        const hasBody = !['GET', 'HEAD'].includes(method);
        const res = await fetch(server.url + path, {
          method,
          headers: hasBody && type ? { 'content-type': type } : {},
          body: hasBody ? body : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status >= 500) {
          const code = (() => {
            try {
              return JSON.parse(text).error.code as string;
            } catch {
              return text.slice(0, 80);
            }
          })();
          if (!STATE_5XX.has(code))
            failures.push(`${method} ${path} ${type} ${body.slice(0, 80)} → ${res.status} ${code}`);
        }
        return true;
      }),
      {
        numRuns: 600,
        interruptAfterTimeLimit: 20_000,
        seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1e9),
      },
    );
    expect(failures).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  }, 60_000);
});
