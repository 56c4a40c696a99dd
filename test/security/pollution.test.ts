import type { RunningServer } from '../../src/server';
import { tmpDataDir } from '../helpers/apps';
import { call, finishedJob, startTestServer } from '../helpers/server';

/**
 * Labels, field names and words are user data; used as keys of plain objects they once wrote to
 * Object.prototype (`confusion['__proto__'] ??= {}`), after which the next metrics call threw and the process
 * exited. The server runs in this test's process, so a pollution would show on this process's own prototypes.
 */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'keys',
  'program',
];

const examples = (labels: string[], field: string) =>
  Array.from({ length: 24 }, (_, i) => ({
    input: {
      [field]: `${labels[i % 2]} ${HOSTILE_KEYS[i % HOSTILE_KEYS.length]} ${i % 3 ? 'lookalike' : 'same'}`,
    },
    output: labels[i % 2],
  }));

describe('keys from user data never reach Object.prototype', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer(tmpDataDir());
  });
  afterAll(() => server.close());

  afterEach(() => {
    for (const key of HOSTILE_KEYS) {
      if (key !== 'constructor' && key !== 'toString' && key !== 'hasOwnProperty' && key !== '__proto__')
        expect(Object.hasOwn(Object.prototype, key)).toBe(false);
    }
    expect(typeof Object.keys).toBe('function');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).program).toBeUndefined();
  });

  it.each([
    [['__proto__', 'program'], 'text'],
    [['constructor', 'keys'], 'text'],
    [['toString', 'hasOwnProperty'], '__proto__'],
    [['prototype', 'valueOf'], 'constructor'],
  ])('labels %j over field %s: learned, scored, served, and the server stays up', async (labels, field) => {
    const id = `p-${labels[0].replace(/_/g, '')}-${field.replace(/_/g, '')}`.toLowerCase().slice(0, 40);
    const created = await call(server.url, 'POST', '/loop-apps', {
      loop_app_id: id,
      task: 'Tell two look-alike labels apart',
      input_schema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] },
      output_schema: { type: 'string', enum: labels },
      examples: examples(labels, field),
    });
    expect(created.status).toBe(202);
    const job = await finishedJob(server.url, created.body.job_id);
    expect(job.state).toBe('succeeded');
    expect(Object.keys(job.result.eval.confusion).sort()).toEqual([...labels].sort());

    const answer = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { [field]: `${labels[0]} constructor __proto__ toString` },
    });
    expect(answer.status).toBe(200);
    expect(labels).toContain(answer.body.output);

    expect((await call(server.url, 'GET', '/metrics')).status).toBe(200);
    expect((await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`)).status).toBe(200);
    const improve = await call(server.url, 'POST', `/loop-apps/${id}/improve`, {});
    expect(improve.status).toBeLessThan(500);
    if (improve.body.job_id) await finishedJob(server.url, improve.body.job_id);
    expect((await call(server.url, 'GET', `/loop-apps/${id}/analytics`)).status).toBe(200);
    expect((await call(server.url, 'GET', '/health')).status).toBe(200);
  });

  it('CSV columns named __proto__, constructor or a.__proto__.b map to own fields, never to prototypes', async () => {
    const id = 'p-csv-columns';
    const created = await call(server.url, 'POST', '/loop-apps', {
      loop_app_id: id,
      task: 'Hostile column names',
      input_schema: {
        type: 'object',
        properties: {
          ['__proto__']: { type: 'object', properties: { program: { type: 'string' } } },
          constructor: { type: 'string' },
        },
      },
      output_schema: { type: 'string', enum: ['a', 'b'] },
      generate: false,
    });
    expect(created.status).toBe(201);
    const csv = '__proto__.program,constructor,x.__proto__.keys,label\nyes,toString,z,a\nno,valueOf,z,b\n';
    const res = await fetch(
      `${server.url}/loop-apps/${id}/examples?input=__proto__.program,constructor,x.__proto__.keys&output=label`,
      { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv },
    );
    expect(res.status).toBe(201);
    const stored = (await (await fetch(`${server.url}/loop-apps/${id}/examples`)).text()).trim().split('\n');
    expect(JSON.parse(stored[0]).input.__proto__).toEqual({ program: 'yes' });
    expect(JSON.parse(stored[0]).input.constructor).toBe('toString');
  });
});
