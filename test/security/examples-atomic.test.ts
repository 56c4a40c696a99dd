import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Lifecycle } from '../../src/runtime/lifecycle';
import type { RunningServer } from '../../src/server';
import { tmpDataDir, writeApp } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';

/** `POST /loop-apps/{id}/examples` stores every row or none: the file is byte for byte as before a refusal. */
describe('labelled examples are added all or nothing', () => {
  let server: RunningServer;
  let dataDir: string;
  const file = (id: string) => path.join(dataDir, 'loop-apps', id, 'datasets', 'examples.jsonl');
  const valid = Array.from({ length: 3000 }, (_, i) => ({
    input: { text: `row ${i}` },
    output: i % 2 ? 'spam' : 'ham',
  }));
  const post = (id: string, body: unknown) => call(server.url, 'POST', `/loop-apps/${id}/examples`, body);

  beforeAll(async () => {
    dataDir = tmpDataDir();
    for (const id of ['rows-app', 'cut-app', 'hand-app']) writeApp(dataDir, id);
    server = await startTestServer(dataDir);
    for (const id of ['rows-app', 'cut-app']) expect((await post(id, valid.slice(0, 2))).status).toBe(201);
  });
  afterAll(() => server.close());

  test('3,000 good rows and a bad last one (off the schema, or too deep to store): 400, nothing stored', async () => {
    const before = fs.readFileSync(file('rows-app'));
    const offSchema = JSON.stringify([...valid, { input: { text: 'x' }, output: 'maybe' }]);
    // 6,000 levels deep: valid for the schema (an extra property), but JSON.stringify cannot write it back
    const deep = '{"a":'.repeat(6000) + '1' + '}'.repeat(6000);
    const tooDeep = `${JSON.stringify(valid).slice(0, -1)},{"input":{"text":"deep","extra":${deep}},"output":"ham"}]`;
    for (const body of [offSchema, tooDeep]) {
      const res = await post('rows-app', body);
      expect(res.status).toBe(400);
      expect(fs.readFileSync(file('rows-app')).equals(before)).toBe(true);
    }
  });

  test('a row that cannot be serialised is refused by name before a byte is written', async () => {
    const before = fs.readFileSync(file('rows-app'));
    let deep: Record<string, unknown> = {};
    const extra = deep;
    for (let i = 0; i < 100_000; i++) deep = (deep.a = {}) as Record<string, unknown>;
    const lifecycle = new Lifecycle(server.registry);
    await expect(
      lifecycle.addExamples('rows-app', [...valid, { input: { text: 'deep', extra }, output: 'ham' }]),
    ).rejects.toMatchObject({
      status: 400,
      code: 'invalid_examples',
      message: expect.stringMatching(/^example 3000 cannot be written as JSON/),
    });
    expect(fs.readFileSync(file('rows-app')).equals(before)).toBe(true);
  });

  test('a write cut off midway (a real file size limit) is taken back whole', async () => {
    const before = fs.readFileSync(file('cut-app'));
    // ulimit -f: the kernel refuses writes past 64 blocks (32 KB) with EFBIG, after a short first write
    const script = `
      const { AppStore } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/src/store/app-store.js'))});
      const rows = Array.from({ length: 3000 }, (_, i) => ({ input: { text: 'row ' + i }, output: 'ham' }));
      new AppStore(${JSON.stringify(dataDir)}).appendExamples('cut-app', rows).then(
        () => console.log('stored'),
        (err) => console.log(err.code),
      );`;
    const { stdout } = await promisify(execFile)('sh', [
      '-c',
      'ulimit -f 64 && exec "$0" -e "$1"',
      process.execPath,
      script,
    ]);
    expect(stdout.trim()).toBe('EFBIG');
    expect(fs.readFileSync(file('cut-app')).equals(before)).toBe(true);
  });

  test('a last line typed without its newline is kept; a torn last line is cut', async () => {
    const typed = '{"input":{"text":"typed by hand"},"output":"spam"}';
    fs.mkdirSync(path.dirname(file('hand-app')), { recursive: true });
    fs.writeFileSync(file('hand-app'), typed);
    expect((await post('hand-app', [{ input: { text: 'first' }, output: 'ham' }])).status).toBe(201);
    fs.appendFileSync(file('hand-app'), '{"input":{"text":"cut by a cra');
    const res = await post('hand-app', [{ input: { text: 'second' }, output: 'ham' }]);
    expect(res.body).toEqual({ added: 1, total: 3 });
    const texts = fs
      .readFileSync(file('hand-app'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).input.text);
    expect(texts).toEqual(['typed by hand', 'first', 'second']);
  });
});
