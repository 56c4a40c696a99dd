import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RunningServer } from '../src/server';
import { settingsPatchSchema, specSchema } from '../src/domain/schemas';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

/** Files served beside pages (scripts, styles) are not API operations. */
const ASSET = /^\/(vendor|docs)\//;

function expectDocumentedExactly(server: RunningServer, doc: any): void {
  const served = server
    .routes()
    .filter((r) => r.method !== 'head' && !ASSET.test(r.path))
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
  const documented = Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.keys(methods as object).map((m) => `${m.toUpperCase()} ${p}`),
  );
  expect(new Set(served)).toEqual(new Set(documented));
  expect(served).toHaveLength(new Set(served).size);
}

describe('the OpenAPI document', () => {
  let server: RunningServer;
  let doc: any;
  let ajv: Ajv2020;

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'doc-app', {
      config: spamConfig('doc-app', {
        sampling: { rate: 1, strategy: 'random' },
        validation: { oracle: 'human' },
      }),
    });
    server = await startTestServer(dataDir);
    doc = (await call(server.url, 'GET', '/openapi.json')).body;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'https://loopai.dev/openapi.json', components: doc.components });
  });
  afterAll(() => server.close());

  test('is OpenAPI 3.1 and every $ref resolves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBeGreaterThan(20);
    for (const name of refs) expect(doc.components.schemas[name]).toBeDefined();
  });

  test('documents exactly the routes the server has', () => {
    expectDocumentedExactly(server, doc);
  });

  test.each([
    ['cloud', {}],
    [
      'edge',
      { cloud: { url: 'http://127.0.0.1:9', key: 'an-edge-key-of-16+', retry_max_ms: 1000, wait_s: 1 } },
    ],
  ] as const)('a server of role %s documents exactly its routes too', async (role, extra) => {
    const other = await startTestServer(tmpDataDir(), { role, ...extra });
    try {
      expectDocumentedExactly(other, (await call(other.url, 'GET', '/openapi.json')).body);
    } finally {
      await other.close();
    }
  });

  test('request schemas are the ones the server validates with', () => {
    expect(doc.components.schemas.Settings).toEqual(JSON.parse(JSON.stringify(settingsPatchSchema)));
    expect(doc.components.schemas.CreateRequest.allOf[0]).toEqual(JSON.parse(JSON.stringify(specSchema)));
  });

  /** Calls the API and checks the answer against the schema the document gives for that operation and status. */
  async function checked(method: string, path: string, template: string, body?: unknown) {
    const res = await call(server.url, method, path, body);
    const op = doc.paths[template][method.toLowerCase()];
    const content = (op.responses[res.status] ?? op.responses.default).content['application/json'];
    const validate = ajv.compile({ $ref: `https://loopai.dev/openapi.json${content.schema.$ref}` });
    if (!validate(res.body)) {
      throw new Error(
        `${method} ${path} → ${res.status} does not match the document: ${ajv.errorsText(validate.errors)}`,
      );
    }
    return res;
  }

  test('real answers match the documented schemas', async () => {
    const app = '/loop-apps/doc-app';
    await checked('GET', '/loop-apps', '/loop-apps');
    await checked('GET', app, '/loop-apps/{id}');
    const executed = await checked('POST', `${app}/execute`, '/loop-apps/{id}/execute', {
      input: { text: 'win' },
    });
    await checked('POST', `${app}/execute/batch`, '/loop-apps/{id}/execute/batch', {
      inputs: [{ text: 'a' }, { nope: 1 }],
    });
    await checked('POST', `${app}/execute`, '/loop-apps/{id}/execute', { input: { nope: 1 } }); // 400 → Error
    await checked('GET', `${app}/executions`, '/loop-apps/{id}/executions');
    await checked('GET', `${app}/versions`, '/loop-apps/{id}/versions');
    await checked('GET', `${app}/versions/v1`, '/loop-apps/{id}/versions/{version}');
    await checked('POST', `${app}/examples`, '/loop-apps/{id}/examples', [
      { input: { text: 'hi' }, output: 'ham' },
    ]);
    await checked('POST', `${app}/validate`, '/loop-apps/{id}/validate');
    await checked('GET', `${app}/review-queue`, '/loop-apps/{id}/review-queue');
    await checked('POST', `${app}/feedback`, '/loop-apps/{id}/feedback', {
      execution_id: executed.body.execution_id,
      expected_output: 'spam',
    });
    await checked('GET', `${app}/validations`, '/loop-apps/{id}/validations');
    await checked('GET', `${app}/analytics`, '/loop-apps/{id}/analytics');
    await checked('PATCH', app, '/loop-apps/{id}', { sampling: { rate: 0.5 } });
    await checked('POST', `${app}/pause`, '/loop-apps/{id}/pause');
    await checked('POST', `${app}/resume`, '/loop-apps/{id}/resume');
    const job = await checked('POST', `${app}/improve`, '/loop-apps/{id}/improve');
    await eventually(async () => {
      const done = await checked('GET', `/jobs/${job.body.job_id}`, '/jobs/{id}');
      expect(['succeeded', 'failed']).toContain(done.body.state);
    });
    await checked('GET', '/jobs', '/jobs');
    await checked('GET', `${app}/events`, '/loop-apps/{id}/events');
    await checked('POST', '/loop-apps', '/loop-apps', {
      ...spamConfig('doc-made'),
      program: { code: 'function execute(input) { return { result: "ham" }; }' },
    });
    await checked('POST', '/loop-apps/doc-made/rollback', '/loop-apps/{id}/rollback'); // 409 → Error
  });

  test('GET /docs serves the reference from node_modules', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.headers.get('content-type')).toMatch(/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    const bundle = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
