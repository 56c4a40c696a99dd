import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { RunningServer } from '../src/server';
import { tmpDataDir } from './helpers/apps';
import { spawnServer } from './helpers/process';
import { call, finishedJob, startTestServer } from './helpers/server';

const spec = (id: string, extra: Record<string, unknown> = {}) => ({
  loop_app_id: id,
  name: 'Tickets',
  task: 'Route support tickets',
  input_schema: {
    type: 'object',
    properties: {
      ticket: {
        type: 'object',
        properties: { subject: { type: 'string' }, body: { type: 'string' } },
        required: ['subject'],
      },
      vip: { type: 'boolean' },
    },
    required: ['ticket'],
  },
  output_schema: { type: 'string', enum: ['billing', 'bug', 'other'] },
  generate: false,
  ...extra,
});

const LABELS = ['billing', 'bug', 'other'];
const WORDS: Record<string, string[]> = {
  billing: ['invoice', 'refund', 'charged', 'payment', 'card'],
  bug: ['crash', 'error', 'broken', 'freeze', 'button'],
  other: ['hello', 'question', 'office', 'holiday', 'thanks'],
};
const row = (i: number) => {
  const output = LABELS[i % 3];
  const w = WORDS[output];
  return {
    input: {
      ticket: { subject: `${w[i % 5]} ${i}`, body: `the ${w[(i + 1) % 5]} and ${w[(i + 2) % 5]}` },
      vip: i % 2 === 0,
    },
    output,
  };
};

/** A streamed POST: the body comes from an iterable of strings, never held whole. */
function upload(base: string, p: string, type: string, chunks: Iterable<string> | AsyncIterable<string>) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method: 'POST', headers: { 'content-type': type } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    Readable.from(chunks).pipe(req);
  });
}

const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)) + '\n');

describe('streamed examples: JSON Lines and CSV in, JSON Lines out, all or nothing', () => {
  let server: RunningServer;
  let dataDir: string;
  const examplesFile = (id: string) => path.join(dataDir, 'loop-apps', id, 'datasets', 'examples.jsonl');

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir, {
      max_body_bytes: 64 * 1024,
      max_examples_bytes: 4 * 1024 * 1024,
    });
  });
  afterAll(() => server.close());

  test('POST /loop-apps over the body limit gets a 413 that says to stream the examples to /examples', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => row(i));
    const res = await call(server.url, 'POST', '/loop-apps', {
      ...spec('too-big'),
      generate: undefined,
      examples: big,
    });
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(
      /"generate": false.*POST \/loop-apps\/\{id\}\/examples.*regenerate/,
    );
    expect((await call(server.url, 'GET', '/loop-apps/too-big')).status).toBe(404);
  });

  test('create without a version, stream 2,000 JSON Lines, regenerate: v1 learned from all of them', async () => {
    expect((await call(server.url, 'POST', '/loop-apps', spec('tickets'))).status).toBe(201);
    const res = await upload(
      server.url,
      '/loop-apps/tickets/examples',
      'application/x-ndjson',
      jsonl(Array.from({ length: 2000 }, (_, i) => row(i))),
    );
    expect(res).toEqual({ status: 201, body: { added: 2000, total: 2000 } });
    const job = await call(server.url, 'POST', '/loop-apps/tickets/versions', { regenerate: true });
    expect(await finishedJob(server.url, job.body.job_id, 60_000)).toMatchObject({ state: 'succeeded' });
    const answer = await call(server.url, 'POST', '/loop-apps/tickets/execute', {
      input: { ticket: { subject: 'refund please', body: 'I was charged twice on my card' } },
    });
    expect(answer.body).toMatchObject({ version: 'v1', output: 'billing' });
  });

  test('a bad row refuses the whole upload: 400 lists the first 100 bad rows by line, nothing is stored', async () => {
    const before = fs.readFileSync(examplesFile('tickets'), 'utf8');
    const lines = [...jsonl(Array.from({ length: 300 }, (_, i) => row(i)))];
    lines[4] = '{"input": {"ticket": {"subject": "x"}}, "output": "sales"}\n'; // line 5: not a label
    lines[9] = '{not json\n'; // line 10
    for (let i = 100; i < 220; i++) lines[i] = '{"input": {}, "output": "bug"}\n'; // 120 more, missing ticket
    const res = await upload(server.url, '/loop-apps/tickets/examples', 'application/x-ndjson', lines);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_examples');
    expect(res.body.error.message).toMatch(/122 of 300 rows .*nothing was stored.*first 100/);
    expect(res.body.error.details.bad_rows).toBe(122);
    expect(res.body.error.details.rows).toHaveLength(100);
    expect(res.body.error.details.rows[0]).toMatchObject({ line: 5, errors: [{ path: '/output' }] });
    expect(res.body.error.details.rows[1].line).toBe(10);
    expect(res.body.error.details.rows[1].errors[0].message).toMatch(/not valid JSON/);
    expect(res.body.error.details.rows[2].errors[0].path).toMatch(/^\/input/);
    expect(fs.readFileSync(examplesFile('tickets'), 'utf8')).toBe(before);
    const leftovers = fs
      .readdirSync(path.dirname(examplesFile('tickets')))
      .filter((f) => f.startsWith('.tmp-'));
    expect(leftovers).toEqual([]);
  });

  test('CSV with a header row and a column mapping: quotes, commas, newlines, CRLF, nested fields, booleans', async () => {
    expect((await call(server.url, 'POST', '/loop-apps', spec('csv-app'))).status).toBe(201);
    const csv = [
      'Subject,Body,VIP,label\r\n',
      '"Refund, please","I was charged ""twice""",yes,billing\r\n',
      'App crash,"It froze\non start",no,bug\r\n',
    ];
    const query = '?input=ticket.subject,ticket.body,vip&output=label';
    const mapped = csv.map((l, i) => (i === 0 ? 'ticket.subject,ticket.body,vip,label\r\n' : l));
    const res = await upload(server.url, `/loop-apps/csv-app/examples${query}`, 'text/csv', mapped);
    expect(res).toEqual({ status: 201, body: { added: 2, total: 2 } });
    const exported = await fetch(`${server.url}/loop-apps/csv-app/examples`);
    expect(exported.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const rows = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => ({ input: r.input, output: r.output }))).toEqual([
      {
        input: { ticket: { subject: 'Refund, please', body: 'I was charged "twice"' }, vip: true },
        output: 'billing',
      },
      { input: { ticket: { subject: 'App crash', body: 'It froze\non start' }, vip: false }, output: 'bug' },
    ]);

    const unmapped = await upload(server.url, '/loop-apps/csv-app/examples', 'text/csv', csv);
    expect(unmapped.status).toBe(400);
    expect(unmapped.body.error.message).toMatch(/say which CSV columns .*\?input=.*&output=/);
    const wrongColumn = await upload(
      server.url,
      '/loop-apps/csv-app/examples?input=nope&output=label',
      'text/csv',
      csv,
    );
    expect(wrongColumn.body.error.message).toMatch(/no column 'nope'/);
    const badCell = await upload(server.url, `/loop-apps/csv-app/examples${query}`, 'text/csv', [
      mapped[0],
      'a,b,maybe,bug\n',
    ]);
    expect(badCell.body.error.details.rows[0]).toMatchObject({ line: 2, errors: [{ path: '/input/vip' }] });
  });

  test('over max_examples_bytes: 413 naming the setting, nothing stored', async () => {
    const before = fs.readFileSync(examplesFile('tickets'), 'utf8');
    async function* tooMuch() {
      for (let i = 0; i < 40_000; i++) yield JSON.stringify(row(i)) + '\n';
    }
    const res = await upload(server.url, '/loop-apps/tickets/examples', 'application/x-ndjson', tooMuch());
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/max_examples_bytes/);
    expect(fs.readFileSync(examplesFile('tickets'), 'utf8')).toBe(before);
  });

  test('a line longer than a body may be is a bad row, not a memory problem', async () => {
    const long = JSON.stringify({ input: { ticket: { subject: 'x'.repeat(100_000) } }, output: 'bug' });
    const res = await upload(server.url, '/loop-apps/tickets/examples', 'application/x-ndjson', [
      long.slice(0, 50_000),
      long.slice(50_000),
      '\n',
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.details.rows[0]).toMatchObject({
      line: 1,
      errors: [{ message: expect.stringMatching(/longer than 65536 bytes/) }],
    });
  });
});

describe('a 200 MB JSON Lines upload', () => {
  test('is stored whole while the server stays within a bounded memory', async () => {
    const dataDir = tmpDataDir();
    const { proc, url } = await spawnServer(dataDir);
    try {
      expect((await call(url, 'POST', '/loop-apps', spec('big'))).status).toBe(201);
      const peak = () =>
        Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) / 1024;
      const before = peak();
      const line = (i: number) =>
        JSON.stringify({ ...row(i), input: { ...row(i).input, note: 'n'.repeat(100) } }) + '\n';
      const perLine = Buffer.byteLength(line(9_999_999)); // the longest line of the upload
      const count = Math.floor((200 * 1024 * 1024 - 1024 * 1024) / perLine); // just under the 200 MiB default
      async function* body() {
        for (let i = 0; i < count; i += 1000) {
          let chunk = '';
          for (let j = i; j < Math.min(count, i + 1000); j++) chunk += line(j);
          yield chunk;
        }
      }
      const res = await upload(url, '/loop-apps/big/examples', 'application/x-ndjson', body());
      expect(res).toEqual({ status: 201, body: { added: count, total: count } });
      expect(
        fs.statSync(path.join(dataDir, 'loop-apps', 'big', 'datasets', 'examples.jsonl')).size,
      ).toBeGreaterThan(190 * 1024 * 1024);
      // 200 MB went through: the process grew by far less than that
      expect(peak() - before).toBeLessThan(120);
    } finally {
      proc.kill('SIGTERM');
    }
  }, 180_000);
});
