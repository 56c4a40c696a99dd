import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../src/server';
import { tmpDataDir } from './helpers/apps';
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

const ADMIN = 'dashboard-create-admin-key-0123456789';
const bearer = { authorization: `Bearer ${ADMIN}` };
/** Where the screenshots go: LOOPAI_SCREENSHOTS_DIR (the README's pictures are made that way), else a temp dir. */
const SHOTS =
  process.env.LOOPAI_SCREENSHOTS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-dashboard-'));
/** A generation job with the learner takes a few seconds; the page polls it. */
const JOB_WAIT_MS = 60_000;

const LABELS = ['billing', 'bug', 'praise'];
const TEXTS: Record<string, string[]> = {
  billing: [
    'I was charged twice this month',
    'please refund my last payment',
    'my invoice shows the wrong amount',
    'cancel my subscription and refund me',
    'the card payment failed again',
    'why did the price go up on my bill',
    'I need a receipt for my payment',
    'you billed me after I cancelled',
    'update the billing address on my invoice',
    'charge on my card I do not recognise',
  ],
  bug: [
    'the app crashes when I open settings',
    'export button does nothing',
    'login page shows an error',
    'the page freezes after I click save',
    'images do not load on my phone',
    'search returns an error every time',
    'the upload fails with a timeout',
    'notifications stopped working after the update',
    'dark mode breaks the layout',
    'the sync error will not go away',
  ],
  praise: [
    'love the new design thank you',
    'great support team, very helpful',
    'the update is fantastic well done',
    'thanks so much, works perfectly now',
    'best app I have used this year',
    'really happy with the service',
    'you folks are amazing thanks',
    'wonderful experience, keep it up',
    'brilliant work on the new release',
    'thank you for the quick help',
  ],
};

/** A CSV cell: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The labelled rows as `{id, text, urgent, label}`; `bad` puts a label the app does not know on row `bad`. */
function ticketRows(bad?: number) {
  const rows = LABELS.flatMap((label) =>
    TEXTS[label].map((text, i) => ({ text, urgent: label === 'bug' && i % 2 === 0, label })),
  );
  // cells that need CSV quoting: a comma, doubled quotes and a line break inside one field
  rows[1].text = 'Refund me, please: I was charged twice';
  rows[2].text = 'my "pro" invoice shows the wrong amount';
  rows[3].text = 'cancel my subscription\nand refund me';
  if (bad !== undefined) rows[bad].label = 'refund';
  return rows.map((r, i) => ({ id: i + 1, ...r }));
}

/** The rows as CSV with CRLF line ends; an extra `id` column that no field takes. */
const ticketCsv = (rows: ReturnType<typeof ticketRows>) =>
  ['id,text,urgent,label', ...rows.map((r) => [r.id, cell(r.text), r.urgent, r.label].join(','))].join(
    '\r\n',
  ) + '\r\n';

const ticketSpec = (id: string) => ({
  loop_app_id: id,
  name: `Tickets ${id}`,
  task: 'Route a support ticket to billing, bug or praise',
  input_schema: {
    type: 'object',
    properties: { text: { type: 'string' }, urgent: { type: 'boolean' } },
    required: ['text', 'urgent'],
  },
  output_schema: { type: 'string', enum: LABELS },
});

describe('web dashboard: creating apps, adding examples, versions', () => {
  let server: RunningServer;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const api = (method: string, p: string, body?: unknown) => call(server.url, method, p, body, bearer);
  const job = async (reply: { status: number; body: { job_id: string } }) => {
    expect(reply.status).toBe(202);
    // finishedJob asks without a key; this server needs one
    const done = await eventually(async () => {
      const polled = await api('GET', `/jobs/${reply.body.job_id}`);
      if (polled.body.state !== 'succeeded' && polled.body.state !== 'failed')
        throw new Error(`job still ${polled.body.state} (HTTP ${polled.status})`);
      return polled.body;
    }, JOB_WAIT_MS);
    expect([done.state, done.error]).toEqual(['succeeded', null]);
    return done;
  };

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir, {
      generator: 'learner',
      auth: { api_keys: [{ role: 'admin', key: ADMIN }], rate_limit_per_minute: 0, allow_anonymous: false },
      execution_log: { flush_interval_ms: 20 },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(server.url + '/');
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#main .empty').waitFor();
  }, JOB_WAIT_MS);

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The new-app form filled in with the ticket spec (text and urgent fields, three labels). */
  async function fillSpec(id: string) {
    await page.goto(server.url + '/#/');
    await page.getByRole('link', { name: 'New Loop App' }).click();
    await page.getByRole('heading', { name: 'New Loop App' }).waitFor();
    await page.getByLabel('Id', { exact: true }).fill(id);
    await page.getByLabel('Name', { exact: true }).fill(`Tickets ${id}`);
    await page.getByLabel('Task', { exact: true }).fill('Route a support ticket to billing, bug or praise');
    expect(await page.getByLabel('Field 1 name').inputValue()).toBe('text');
    await page.getByRole('button', { name: 'Add a field' }).click();
    await page.getByLabel('Field 2 name').fill('urgent');
    await page.getByLabel('Field 2 type').selectOption('boolean');
    await page.getByLabel('Output labels (comma-separated)').fill(LABELS.join(', '));
  }

  test('create an app from an uploaded CSV: preview, job, score and confusion matrix, then try it', async () => {
    const id = 'ticket-router';
    await fillSpec(id);
    const csvFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-csv-')), 'tickets.csv');
    fs.writeFileSync(csvFile, ticketCsv(ticketRows()));
    await page.getByLabel(/^Or upload a file/).setInputFiles(csvFile);

    // the columns are mapped by their headers; the id column is left out
    expect(await page.getByLabel('Input field “text” (string)').inputValue()).toBe('1');
    expect(await page.getByLabel('Input field “urgent” (boolean)').inputValue()).toBe('2');
    expect(await page.getByLabel('Output (the label)').inputValue()).toBe('3');
    const preview = page.locator('#new-examples .examples-preview');
    await preview.getByText('30 examples').waitFor();
    // the quoted cells arrive whole: the comma, the quotes and the line break stay inside their field
    expect(await preview.textContent()).toContain('Refund me, please: I was charged twice');
    expect(await preview.textContent()).toContain('my "pro" invoice shows the wrong amount');
    expect(await preview.locator('tbody tr').nth(3).locator('td').nth(1).textContent()).toBe(
      'cancel my subscription\nand refund me',
    );
    expect(await preview.locator('tbody tr').count()).toBe(8);
    expect(await preview.locator('.row-bad').count()).toBe(0);

    await page.getByRole('button', { name: 'Create the Loop App' }).click();
    const result = page.locator('#new-result');
    await result.locator('.confusion').waitFor({ timeout: JOB_WAIT_MS });
    expect(await page.locator('#new-progress .job-progress li').count()).toBeGreaterThan(0);
    expect(await page.locator('#new-progress .badge').first().textContent()).toBe('succeeded');
    const text = (await result.textContent()) ?? '';
    expect(text).toMatch(/Accuracy\s*\d+\.\d %/);
    expect(text).toMatch(/95 % CI/);
    expect(text).toContain('30 rows');
    // one row of the matrix per label
    expect(await result.locator('.confusion tbody tr').count()).toBe(3);
    await page.addStyleTag({ content: '.toasts { display: none; }' });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-create.png'), fullPage: true });

    // what was stored: the types the schema says, the quoted cells whole
    const stored = fs
      .readFileSync(path.join(dataDir, 'loop-apps', id, 'datasets', 'examples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(stored).toHaveLength(30);
    expect(stored[0]).toMatchObject({ input: { text: TEXTS.billing[0], urgent: false }, output: 'billing' });
    expect(stored[10].input.urgent).toBe(true);
    expect(stored[1].input.text).toBe('Refund me, please: I was charged twice');
    expect(stored[2].input.text).toBe('my "pro" invoice shows the wrong amount');
    expect(stored[3].input.text).toBe('cancel my subscription\nand refund me');
    expect(Object.keys(stored[0].input).sort()).toEqual(['text', 'urgent']);
    expect((await api('GET', `/loop-apps/${id}`)).body.active_version).toBe('v1');

    // the app's page: try it answers one of the labels
    await result.getByRole('link', { name: `Open ${id}` }).click();
    await page.getByRole('heading', { name: /Tickets ticket-router/ }).waitFor();
    await page
      .getByLabel('Input (JSON)')
      .fill(JSON.stringify({ text: 'I was charged twice', urgent: false }));
    await page.getByRole('button', { name: 'Execute' }).click();
    const output = page.locator('#try-result .try-output');
    await output.waitFor();
    expect(LABELS).toContain(JSON.parse((await output.textContent()) ?? ''));
  }, 90_000);

  test('a CSV with a label the app does not know: the row shows its error and nothing is created', async () => {
    const id = 'bad-router';
    await fillSpec(id);
    // pasted this time, not uploaded
    await page.getByLabel(/^Paste labelled examples/).fill(ticketCsv(ticketRows(20)));
    await page.locator('#new-examples .examples-preview').getByText('30 examples').waitFor();
    await page.getByRole('button', { name: 'Create the Loop App' }).click();

    const bad = page.locator('#new-examples tr.row-bad');
    await bad.waitFor();
    expect(await bad.count()).toBe(1);
    expect(await bad.locator('td').first().textContent()).toBe('21');
    expect(await bad.textContent()).toMatch(/\/output: must be equal to one of the allowed values/);
    expect(await bad.textContent()).toContain('refund');
    expect(await page.locator('#new-message').textContent()).toContain('Nothing was created');
    expect(await page.locator('#new-job').textContent()).toBe('');
    expect((await api('GET', `/loop-apps/${id}`)).status).toBe(404);

    // Advanced: the schemas as JSON, starting from the fields above; a schema that does not parse says so
    await page.getByLabel('Advanced: write the input and output JSON Schemas').check();
    const inputSchema = JSON.parse(await page.getByLabel('Input schema (JSON Schema)').inputValue());
    expect(inputSchema).toEqual(ticketSpec(id).input_schema);
    await page.getByLabel('Output schema (JSON Schema)').fill('{"type": "string", "enum": [');
    await page
      .locator('#new-io .field-error')
      .getByText(/^the output schema is not valid JSON/)
      .waitFor();
    await page.getByRole('button', { name: 'Create the Loop App' }).click();
    expect(await page.locator('#new-message').textContent()).toMatch(/Not sent: .*output schema/);
    expect((await api('GET', `/loop-apps/${id}`)).status).toBe(404);
  });

  test('versions: mark a non-active one deprecated, activate it with confirmation, compare, improve', async () => {
    // an app with two versions, made over the API
    const id = 'ticket-versions';
    const examples = ticketRows().map(({ text, urgent, label }) => ({
      input: { text, urgent },
      output: label,
    }));
    await job(await api('POST', '/loop-apps', { ...ticketSpec(id), examples: examples.slice(0, 24) }));
    const more = examples.slice(24);
    expect((await api('POST', `/loop-apps/${id}/examples`, { examples: more })).status).toBe(201);
    await job(await api('POST', `/loop-apps/${id}/versions`, { regenerate: true }));
    const active = (await api('GET', `/loop-apps/${id}`)).body.active_version;
    const other = active === 'v1' ? 'v2' : 'v1';

    await page.goto(`${server.url}/#/apps/${id}`);
    await page.getByRole('heading', { name: /Tickets ticket-versions/ }).waitFor();
    await page.getByRole('button', { name: `Deprecate ${other}` }).click();
    await page.getByLabel(`Why is ${other} deprecated? (optional)`).fill('misroutes refunds');
    await page.getByRole('button', { name: `Mark ${other} deprecated` }).click();
    const row = page.locator('#versions tbody tr', { has: page.getByText(other, { exact: true }) });
    await row.locator('.badge', { hasText: 'deprecated' }).waitFor();
    expect(await row.textContent()).toContain('misroutes refunds');
    await page.getByRole('button', { name: `Reinstate ${other}` }).waitFor();
    const view = (await api('GET', `/loop-apps/${id}/versions/${other}`)).body;
    expect(view).toMatchObject({ status: 'deprecated', deprecated: { reason: 'misroutes refunds' } });

    // activating it asks first, then sends force
    await page.getByRole('button', { name: `Activate ${other}` }).click();
    await page.locator('#versions-message .alert-warn').waitFor();
    expect((await api('GET', `/loop-apps/${id}`)).body.active_version).toBe(active);
    await page.getByRole('button', { name: `Activate ${other} anyway` }).click();
    await page.getByRole('button', { name: `Activate ${active}` }).waitFor();
    expect((await api('GET', `/loop-apps/${id}`)).body.active_version).toBe(other);

    // compare: both versions side by side, each with its confusion matrix
    await page.locator('#compare .compare-column .confusion').nth(1).waitFor();
    expect(await page.locator('#compare .compare-column h3').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('v1'), expect.stringContaining('v2')]),
    );

    // add examples as JSON Lines: a bad row is refused with its error against it, then the good rows are added
    const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
    const extra = [
      { input: { text: 'refund the double charge', urgent: false }, output: 'billing' },
      { input: { text: 'the app crashes on start', urgent: 'yes' }, output: 'bug' },
    ];
    const addBox = page.locator('#add-examples');
    await addBox.getByLabel(/^Paste labelled examples/).fill(jsonl(extra));
    await addBox.getByText('2 examples').waitFor();
    await addBox.getByRole('button', { name: 'Add the examples' }).click();
    await addBox.locator('tr.row-bad').waitFor();
    expect(await addBox.locator('tr.row-bad').textContent()).toContain('/input/urgent: must be boolean');
    expect(await addBox.locator('#add-examples-message').textContent()).toContain('Nothing was stored');
    await addBox.getByLabel(/^Paste labelled examples/).fill(jsonl([extra[0]]));
    await addBox.getByRole('button', { name: 'Add the examples' }).click();
    await addBox.getByText('1 example added; 31 in all').waitFor();

    // start an improvement from the page: the job runs and its version is shown with its score
    await page.getByRole('button', { name: 'Start improvement' }).click();
    await page.locator('#improve-result .confusion').waitFor({ timeout: JOB_WAIT_MS });
    expect((await api('GET', `/loop-apps/${id}/versions`)).body.versions).toHaveLength(3);
    await page.getByRole('button', { name: 'Activate v3' }).or(page.getByText('serving')).first().waitFor();
  }, 120_000);
});
