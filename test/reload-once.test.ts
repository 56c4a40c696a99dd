import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { flipActive, SPAM_PROGRAM, spamConfig, tmpDataDir } from './helpers/apps';
import { metricValue } from './helpers/metrics';
import { call, eventually, startTestServer, type Reply } from './helpers/server';

const program = { code: SPAM_PROGRAM, files: { 'words.json': '["win","prize","free"]' } };
const V2 = `function execute(input) { return { result: 'spam', confidence: 0.5 }; }`;
/** Long enough for the watcher's echo of a write (debounced 100 ms) to have come and been handled. */
const ECHO_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one reload per change', () => {
  let server: RunningServer;
  let dataDir: string;
  const id = 'once-app';
  const url = (p = '') => `/loop-apps/${id}${p}`;

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  /** Reloads of the app so far, from GET /metrics (loaded or failed). */
  const reloads = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const count = (result: string) => metricValue(text, 'loopai_reloads_total', { loop_app_id: id, result });
    return (count('ok') ?? 0) + (count('error') ?? 0);
  };

  /** The reloads one API write causes, the watcher's echo of it included. */
  const reloadsOf = async (write: () => Promise<Reply>) => {
    const before = await reloads();
    const res = await write();
    expect({ status: res.status < 300, body: res.body }).toMatchObject({ status: true });
    await sleep(ECHO_MS);
    return (await reloads()) - before;
  };

  test('every API write is loaded once: the echo of its files is recognised', async () => {
    const post = (p: string, body?: unknown) => () => call(server.url, 'POST', p, body);
    const counts: Record<string, number> = {};
    counts.create = await reloadsOf(post('/loop-apps', { ...spamConfig(id), program }));
    // serving programs are checked on reload: the app is called first, so the rest reload a hot app
    expect((await call(server.url, 'POST', url('/execute'), { input: { text: 'hi' } })).status).toBe(200);
    const validators = server.registry.get(id)!.validators;
    counts.settings = await reloadsOf(() => call(server.url, 'PATCH', url(), { sampling: { rate: 0.5 } }));
    counts.upload = await reloadsOf(post(url('/versions'), { code: V2 }));
    counts.activate = await reloadsOf(post(url('/versions/v2/activate')));
    counts.rollback = await reloadsOf(post(url('/rollback')));
    counts.pause = await reloadsOf(post(url('/pause')));
    counts.resume = await reloadsOf(post(url('/resume')));
    // examples change nothing that serves: neither the API nor the watcher reloads for them
    counts.examples = await reloadsOf(post(url('/examples'), [{ input: { text: 'free' }, output: 'spam' }]));
    // the schemas never changed: the validators compiled for the first load still serve
    expect(server.registry.get(id)!.validators).toBe(validators);
    expect(counts).toEqual({
      create: 1,
      settings: 1,
      upload: 1,
      activate: 1,
      rollback: 1,
      pause: 1,
      resume: 1,
      examples: 0,
    });
  });

  test('a hand edit right after an API write is loaded too', async () => {
    const file = path.join(dataDir, 'loop-apps', id, 'config.yaml');
    expect((await call(server.url, 'PATCH', url(), { retention_days: 9 })).status).toBe(200);
    const config = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, yaml.dump({ ...config, sampling: { rate: 0.125, strategy: 'random' } }));
    await eventually(async () =>
      expect((await call(server.url, 'GET', url())).body).toMatchObject({
        retention_days: 9,
        sampling: { rate: 0.125 },
      }),
    );

    expect((await call(server.url, 'POST', url('/versions/v2/activate'))).body.status).toBe('active');
    flipActive(dataDir, id, 'v1');
    await eventually(async () =>
      expect(
        (await call(server.url, 'POST', url('/execute'), { input: { text: 'hello' } })).body,
      ).toMatchObject({ version: 'v1', output: 'ham' }),
    );
  });
});
