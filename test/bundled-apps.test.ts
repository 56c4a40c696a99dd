import type { RunningServer } from '../src/server';
import { copyBundledApps } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

/** The example apps as Loopai's concepts document defines them: ids, names, tasks, schemas and version histories. */
describe('bundled example Loop Apps', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer(copyBundledApps());
  });
  afterAll(() => server.close());

  test.each([
    [
      'spam-detector-001',
      'Email Spam Detector',
      'Classify emails as spam or ham',
      ['text', 'sender'],
      ['spam', 'ham'],
    ],
    [
      'sentiment-analyzer-001',
      'Customer Sentiment Analyzer',
      'Analyze customer feedback sentiment',
      ['feedback'],
      ['positive', 'negative', 'neutral'],
    ],
    [
      'email-categorizer-001',
      'Email Category Router',
      'Categorize emails into folders',
      ['subject', 'body'],
      ['inbox', 'urgent', 'newsletters', 'promotions'],
    ],
  ])('%s is "%s": %s, input %j, output one of %j', async (id, name, task, fields, labels) => {
    const app = (await call(server.url, 'GET', `/loop-apps/${id}`)).body;
    expect(app).toMatchObject({ name, task, load_error: null, endpoint: `/loop-apps/${id}/execute` });
    expect(Object.keys(app.input_schema.properties)).toEqual(fields);
    expect(app.output_schema).toEqual({ type: 'string', enum: labels });
  });

  test.each([
    ['spam-detector-001', ['deprecated', 'retired', 'active']],
    ['sentiment-analyzer-001', ['retired', 'active']],
    ['email-categorizer-001', ['active']],
    ['product-categorizer-001', ['active']],
    ['priority-scorer-001', ['active']],
  ])(
    '%s: version history %j, each learner-made and scored, older ones from fewer rows',
    async (id, statuses) => {
      const { versions } = (await call(server.url, 'GET', `/loop-apps/${id}/versions`)).body;
      expect(versions.map((v: { status: string }) => v.status)).toEqual(statuses);
      const sizes = versions.map((v: { trained_on: number }) => v.trained_on);
      expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
      expect(new Set(sizes).size).toBe(sizes.length);
      for (const v of versions) {
        expect(v).toMatchObject({ generator: 'learner', eval: { n: v.trained_on } });
        expect(v.eval.interval.low).toBeLessThan(v.eval.accuracy);
      }
      const app = (await call(server.url, 'GET', `/loop-apps/${id}`)).body;
      expect(app.active_version).toBe(`v${statuses.length}`);
    },
  );

  test('spam v1 is deprecated with its reason: activating it needs force', async () => {
    const v1 = (await call(server.url, 'GET', '/loop-apps/spam-detector-001/versions/v1')).body;
    expect(v1.deprecated.reason).toMatch(/first 90 examples/);
    const refused = await call(server.url, 'POST', '/loop-apps/spam-detector-001/versions/v1/activate');
    expect(refused.body.error.code).toBe('version_deprecated');
  });

  test.each([
    [
      'spam-detector-001',
      {
        text: 'Congratulations! You won a FREE gift card, click here to claim now',
        sender: 'promo@win.example',
      },
      'spam',
    ],
    [
      'spam-detector-001',
      { text: 'Can you send me the slides from the meeting?', sender: 'tom@acme-corp.com' },
      'ham',
    ],
    [
      'sentiment-analyzer-001',
      { feedback: 'Absolutely love it, the support team was fantastic and fast.' },
      'positive',
    ],
    [
      'sentiment-analyzer-001',
      { feedback: 'Terrible service, the parcel arrived broken and nobody answered my emails.' },
      'negative',
    ],
    [
      'email-categorizer-001',
      {
        subject: 'URGENT: production database is down',
        body: 'Customers cannot log in, please join the incident call now.',
      },
      'urgent',
    ],
    [
      'email-categorizer-001',
      { subject: '50% off everything this weekend', body: 'Use code SAVE50 at checkout, sale ends Sunday.' },
      'promotions',
    ],
    [
      'priority-scorer-001',
      {
        email: {
          subject: 'Server outage: checkout failing',
          body: 'The payment service is down for all customers, we need you on the call right now.',
          sender: 'oncall@acme-corp.com',
        },
      },
      'high',
    ],
  ])('%s answers %j with %j', async (id, input, expected) => {
    const res = await call(server.url, 'POST', `/loop-apps/${id}/execute`, { input });
    expect(res.status).toBe(200);
    expect(res.body.output).toEqual(expected);
    expect(res.body.confidence).toBeGreaterThan(0);
  });
});
