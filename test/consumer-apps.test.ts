import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { LoopaiClient } from '../clients/typescript/src';
import { EcommercePlatform, type ReviewDecision } from '../examples/consumer/typescript/ecommerce';
import { EmailClient, type Email, type EmailDecision } from '../examples/consumer/typescript/email-client';
import type { RunningServer } from '../src/server';
import { copyBundledApps } from './helpers/apps';
import { startTestServer } from './helpers/server';

/**
 * The concepts document's two Consumer Apps (examples/consumer), in Python and TypeScript, each through its own
 * client against a real server serving the bundled Loop Apps.
 */

const ROOT = path.join(__dirname, '..');
const run = promisify(execFile);

const SPAM_REVIEW = 'FREE gift card!!! Click here to claim your prize now, you won';
const ELECTRONICS_REVIEW =
  'Excellent wireless headphones, the sound is amazing and the battery lasts all day. I love them!';
const SPAM_EMAIL: Email = {
  subject: 'You have been selected',
  body: 'Congratulations, you won a $1000 cash prize! Click here to claim it now.',
  sender: 'winner@prize.example',
};
const OUTAGE_EMAIL: Email = {
  subject: 'URGENT: production is down',
  body: 'The payment servers are down and customers cannot check out. Join the incident call now.',
  sender: 'oncall@acme-corp.com',
};
const NEWSLETTER_EMAIL: Email = {
  subject: 'Weekly newsletter: top articles',
  body: 'This week in our newsletter: the best articles and product news. Unsubscribe any time.',
  sender: 'news@designweekly.example',
};

/** One flow per language: what each example answers for the reviews and the emails, in order. */
interface Flows {
  reviews(reviews: string[]): Promise<ReviewDecision[]>;
  emails(emails: Email[]): Promise<EmailDecision[]>;
}

/** Runs an example script of examples/consumer/python and reads its JSON lines' decisions. */
async function python<T>(script: string, args: string[], url: string): Promise<T[]> {
  const { stdout } = await run(
    'python3',
    [path.join(ROOT, 'examples', 'consumer', 'python', script), ...args],
    {
      env: {
        ...process.env,
        PYTHONPATH: path.join(ROOT, 'clients', 'python'),
        LOOPAI_URL: url,
        LOOPAI_API_KEY: '',
      },
    },
  );
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).decision as T);
}

describe('the consumer apps of the concepts document', () => {
  let server: RunningServer;
  const connect = (id: string) => new LoopaiClient(id, { baseUrl: server.url, apiKey: '' });
  const flows: Record<'python' | 'typescript', Flows> = {
    python: {
      reviews: (reviews) => python('ecommerce.py', reviews, server.url),
      emails: (emails) =>
        python(
          'email_client.py',
          emails.map((e) => JSON.stringify(e)),
          server.url,
        ),
    },
    typescript: {
      async reviews(reviews) {
        const platform = new EcommercePlatform({
          spamDetector: connect('spam-detector-001'),
          sentimentAnalyzer: connect('sentiment-analyzer-001'),
          productCategorizer: connect('product-categorizer-001'),
        });
        const decisions: ReviewDecision[] = [];
        for (const review of reviews) decisions.push(await platform.processReview(review));
        return decisions;
      },
      async emails(emails) {
        const client = new EmailClient({
          spamDetector: connect('spam-detector-001'),
          emailCategorizer: connect('email-categorizer-001'),
          priorityScorer: connect('priority-scorer-001'),
        });
        const decisions: EmailDecision[] = [];
        for (const email of emails) decisions.push(await client.processIncomingEmail(email));
        return decisions;
      },
    },
  };

  beforeAll(async () => {
    server = await startTestServer(copyBundledApps());
  });
  afterAll(() => server.close());

  describe.each(['python', 'typescript'] as const)('in %s', (language) => {
    test('a spam review is rejected, a glowing headphones review approved as positive electronics', async () => {
      expect(await flows[language].reviews([SPAM_REVIEW, ELECTRONICS_REVIEW])).toEqual([
        { status: 'rejected', reason: 'spam' },
        { status: 'approved', sentiment: 'positive', category: 'electronics' },
      ]);
    });

    test('spam moves to spam, an outage is urgent and high, a newsletter goes to newsletters, low', async () => {
      expect(await flows[language].emails([SPAM_EMAIL, OUTAGE_EMAIL, NEWSLETTER_EMAIL])).toEqual([
        'move_to_spam',
        { folder: 'urgent', priority: 'high' },
        { folder: 'newsletters', priority: 'low' },
      ]);
    });
  });
});
