import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../src/server';
import { AppStore } from '../src/store/app-store';
import { SPAM_PROGRAM, spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { spawnServer } from './helpers/process';
import { call, eventually, startTestServer } from './helpers/server';

// Debian's Chromium (never a downloaded browser); the extra flags keep it off the network at start.
const CHROMIUM = process.env.LOOPAI_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const ADMIN = 'dashboard-admin-key-0123456789';
const bearer = { authorization: `Bearer ${ADMIN}` };
const ID = 'spam-filter';
const BASE = { type: 'model', name: 'base', version: 'v1' } as const;
/** Where the screenshots go: LOOPAI_SCREENSHOTS_DIR (the README's picture is made that way), else a temp dir. */
const SHOTS =
  process.env.LOOPAI_SCREENSHOTS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-dashboard-'));

/** Pictures without the passing notices (toasts) over the content. */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.addStyleTag({ content: '.toasts { display: none; }' });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

/** A version as the generators leave it: program, the file it reads, and metadata.json with its score. */
const version = (name: string, words: string[], accuracy: number, parent: string | null) => ({
  'program.js': SPAM_PROGRAM,
  'words.json': JSON.stringify(words),
  'metadata.json': JSON.stringify({
    version: name,
    created_at: '2026-01-0' + name.slice(1) + 'T10:00:00.000Z',
    generator: 'learner',
    parent,
    trained_on: 120,
    eval: { accuracy, n: 30, method: 'held-out', interval: { low: 0.5, high: 0.9, level: 0.95 } },
    status: 'active',
    sha256: '',
    files: {},
  }),
});

describe('web dashboard', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  /** Uncaught errors in the page: none are expected. */
  const pageErrors: string[] = [];
  const api = (method: string, p: string, body?: unknown) => call(server.url, method, p, body, bearer);

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, ID, {
      config: spamConfig(ID, {
        name: 'Spam filter',
        // every execution is sampled and waits for a person's answer
        validation: { oracle: 'human' },
        sampling: { rate: 1, strategy: 'random' },
      }),
      versions: [
        version('v1', ['win', 'prize'], 0.9, null),
        version('v2', ['win', 'prize', 'free'], 0.967, 'v1'),
      ],
      active: 'v2',
    });
    // a folder whose config does not load: the overview must say so
    writeApp(dataDir, 'broken-app', { config: { loop_app_id: 'broken-app' } });
    // two apps that pin one shared artifact
    const { hash } = (await new AppStore(dataDir).shared.publish(BASE, { 'words.json': '["win"]' })).metadata;
    for (const id of ['uses-base', 'also-base']) {
      writeApp(dataDir, id, {
        config: spamConfig(id),
        versions: [
          {
            'program.js':
              "function execute() { return { result: loopai.shared.base['words.json'] ? 'ham' : 'spam' }; }",
            'dependencies.yaml': `shared_artifacts:\n  - {type: model, name: base, version: v1, hash: "${hash}"}\n`,
          },
        ],
      });
    }
    server = await startTestServer(dataDir, {
      auth: { api_keys: [{ role: 'admin', key: ADMIN }], rate_limit_per_minute: 0, allow_anonymous: false },
      execution_log: { flush_interval_ms: 20 },
    });

    // some traffic and answers, so analytics, disagreements and the queue have something to show
    const ids: string[] = [];
    for (const text of ['win a prize', 'lunch at noon?', 'free tickets', 'minutes attached', 'you win']) {
      const res = await api('POST', `/loop-apps/${ID}/execute`, { input: { text } });
      expect(res.status).toBe(200);
      ids.push(res.body.execution_id);
    }
    expect((await api('POST', `/loop-apps/${ID}/validate`)).body.pending).toBe(5);
    for (const [i, expected] of [
      [0, 'spam'],
      [1, 'ham'],
      [2, 'ham'],
    ] as const) {
      const res = await api('POST', `/loop-apps/${ID}/feedback`, {
        execution_id: ids[i],
        expected_output: expected,
      });
      expect(res.status).toBe(201);
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the page and its scripts are open; every other path needs the key and answers JSON errors', async () => {
    for (const [p, type] of [
      ['/', 'text/html'],
      ['/app.js', 'javascript'],
      ['/style.css', 'text/css'],
      ['/vendor/chart.umd.js', 'javascript'],
    ]) {
      const res = await fetch(server.url + p);
      expect([p, res.status]).toEqual([p, 200]);
      expect(res.headers.get('content-type')).toContain(type);
    }
    expect((await call(server.url, 'GET', '/loop-apps')).status).toBe(401);
    // a path no open route answers needs a key, like every API path (default deny); with one it is a JSON 404
    expect((await call(server.url, 'GET', '/no-such-page')).status).toBe(401);
    const missing = await api('GET', '/no-such-page');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const post = await api('POST', '/');
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(post.body.error.code).toBe('method_not_allowed');
  });

  test('without a key it asks for one; with the key the overview lists the apps and load errors', async () => {
    await page.goto(server.url + '/');
    const prompt = page.locator('.alert-key');
    await prompt.waitFor();
    expect(await prompt.textContent()).toContain('Enter an admin key');

    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const link = page.getByRole('link', { name: 'Spam filter' });
    await link.waitFor();
    expect(await page.locator('.load-errors').textContent()).toContain('broken-app');
    // the analytics arrive per app: the accuracy cell shows the live accuracy (2 of 3 answers agreed)
    await page.getByText('66.7 %').first().waitFor();
    // the held-out score is shown with its interval
    await page
      .getByText(/held-out [\d.]+ %, 95 % CI 50\.0 %–90\.0 %/)
      .first()
      .waitFor();
    await screenshot(page, 'overview.png');
  });

  test('the app page: try it, activate versions, roll back, answer a review sample', async () => {
    await page.getByRole('link', { name: 'Spam filter' }).click();
    await page.getByRole('heading', { name: /Spam filter/ }).waitFor();
    await page.getByRole('button', { name: 'Activate v1' }).waitFor();

    // try it: the input box starts from the input schema
    const input = page.getByLabel('Input (JSON)');
    expect(JSON.parse(await input.inputValue())).toEqual({ text: '' });

    // a bad input shows the server's message, not nothing
    await input.fill(JSON.stringify({ txt: 1 }));
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.locator('#try-result .alert-error').waitFor();
    expect(await page.locator('#try-result .alert-error').textContent()).toMatch(
      /Execute failed: input does not match[\s\S]*required property 'text'/,
    );
    // a good one shows the output, version and execution id
    await input.fill(JSON.stringify({ text: 'claim your free cruise' }));
    await page.getByRole('button', { name: 'Execute' }).click();
    const output = page.locator('#try-result .try-output');
    await output.waitFor();
    expect(JSON.parse((await output.textContent()) ?? '')).toBe('spam');
    expect(await page.locator('#try-result .try-version').textContent()).toBe('v2');
    const executionId = (await page.locator('#try-result .try-execution-id').textContent()) ?? '';
    expect(executionId).toMatch(/\S/);

    // activate v1, v2 again, roll back to v1, and back to v2: each checked through the API
    const current = async () => (await api('GET', `/loop-apps/${ID}`)).body.current_version;
    await page.getByRole('button', { name: 'Activate v1' }).click();
    await page.getByRole('button', { name: 'Activate v2' }).waitFor();
    expect(await current()).toBe('v1');
    await page.getByRole('button', { name: 'Activate v2' }).click();
    await page.getByRole('button', { name: 'Activate v1' }).waitFor();
    expect(await current()).toBe('v2');
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('button', { name: 'Activate v2' }).waitFor();
    expect(await current()).toBe('v1');
    await page.getByRole('button', { name: 'Activate v2' }).click();
    await page.getByRole('button', { name: 'Activate v1' }).waitFor();
    expect(await current()).toBe('v2');
    // manual activations are not improvement events: the panel says what will appear there
    await page.locator('#events .empty, #events li').first().waitFor();

    // the executed sample reaches the review queue after a validation pass; answer it as a person
    expect((await api('POST', `/loop-apps/${ID}/validate`)).status).toBe(200);
    await page.getByRole('button', { name: 'Refresh review queue' }).click();
    const sample = page.locator(`.review-item[data-execution-id="${executionId}"]`);
    await sample.waitFor();
    await sample.getByLabel('Correct answer').selectOption({ label: 'ham' });
    await sample.getByRole('button', { name: 'Submit answer' }).click();
    await sample.waitFor({ state: 'detached' });
    const queue = await api('GET', `/loop-apps/${ID}/review-queue`);
    expect(queue.body.pending.map((s: { execution_id: string }) => s.execution_id)).not.toContain(
      executionId,
    );
    await eventually(async () => {
      const wrong = await api('GET', `/loop-apps/${ID}/validations?correct=false`);
      const verdict = wrong.body.validations.find(
        (v: { execution_id: string }) => v.execution_id === executionId,
      );
      expect(verdict).toMatchObject({ program_output: 'spam', oracle_output: 'ham', correct: false });
    });
    // the disagreement shows in its panel too
    await page.locator('#disagreements tbody tr').first().waitFor();

    // settings: shown readably, edited as JSON, written through PATCH
    await page.getByRole('button', { name: 'Edit settings' }).click();
    const editor = page.getByLabel(/^Settings \(JSON/);
    const settings = JSON.parse(await editor.inputValue());
    expect(settings.validation.oracle).toBe('human');
    await editor.fill(JSON.stringify({ ...settings, retention_days: 7 }));
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('7 days').waitFor();
    expect((await api('GET', `/loop-apps/${ID}`)).body.retention_days).toBe(7);

    await screenshot(page, 'app.png');
  });

  test("an app's page lists the shared artifacts it pins, and who else pins each", async () => {
    await page.goto(`${server.url}/#/apps/uses-base`);
    const panel = page.locator('#shared');
    await panel.getByText('model base v1').waitFor();
    const row = panel.locator('tbody tr');
    expect(await row.locator('td[data-label="Pinned here by"]').textContent()).toBe('v1');
    expect(await row.locator('td[data-label="Also pinned by"]').textContent()).toBe('also-base v1');
    await page.goto(`${server.url}/#/apps/${ID}`);
    await page.locator('#shared').getByText('No version of this app uses a shared artifact').waitFor();
  });
});

test('the built server serves the dashboard from dist/ too', async () => {
  const { proc, url, exited } = await spawnServer(tmpDataDir());
  try {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect((await fetch(`${url}/vendor/chart.umd.js`)).status).toBe(200);
    expect((await fetch(`${url}/overview.js`)).status).toBe(200);
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
});
