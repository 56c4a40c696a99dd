/**
 * The email Consumer App of the concepts document: three Loop Apps decide what happens to an incoming email.
 *
 *   npx tsc -p examples/consumer/typescript && node dist/examples/consumer/typescript/email-client.js ['{"subject": …, "body": …, "sender": …}' …]
 *
 * Prints one JSON line per email: {"email": …, "decision": "move_to_spam" | {"folder": …, "priority": …}}.
 * Without arguments it runs a few sample emails. The server is $LOOPAI_URL (default http://127.0.0.1:8080), the
 * key $LOOPAI_API_KEY, as LoopaiClient reads them.
 */

import { LoopaiClient, LoopaiError } from '../../../clients/typescript/src';

export interface Email {
  subject: string;
  body: string;
  sender: string;
}

export type Folder = 'inbox' | 'urgent' | 'newsletters' | 'promotions';
/** A label rather than a number: the offline learner does not learn numbers yet. */
export type Priority = 'low' | 'normal' | 'high';
export type EmailDecision = 'move_to_spam' | { folder: Folder; priority: Priority };

/** The Loop Apps the client calls; any left out are made with the defaults (env LOOPAI_URL, LOOPAI_API_KEY). */
export interface EmailClients {
  spamDetector?: LoopaiClient;
  emailCategorizer?: LoopaiClient;
  priorityScorer?: LoopaiClient;
}

/** Consumer App that orchestrates several Loop Apps. */
export class EmailClient {
  readonly spamDetector: LoopaiClient;
  readonly emailCategorizer: LoopaiClient;
  readonly priorityScorer: LoopaiClient;

  constructor(clients: EmailClients = {}) {
    this.spamDetector = clients.spamDetector ?? new LoopaiClient('spam-detector-001');
    this.emailCategorizer = clients.emailCategorizer ?? new LoopaiClient('email-categorizer-001');
    this.priorityScorer = clients.priorityScorer ?? new LoopaiClient('priority-scorer-001');
  }

  async processIncomingEmail(email: Email): Promise<EmailDecision> {
    // Filter spam
    if ((await this.spamDetector.execute({ text: email.body })).output === 'spam') {
      return 'move_to_spam';
    }

    // Categorize
    const category = (
      await this.emailCategorizer.execute<Folder>({
        subject: email.subject,
        body: email.body,
      })
    ).output;

    // Score priority: the email's subject, body and sender, as the schema's `email` object.
    const { subject, body, sender } = email;
    const priority = (await this.priorityScorer.execute<Priority>({ email: { subject, body, sender } }))
      .output;

    return {
      folder: category,
      priority,
    };
  }
}

export const SAMPLE_EMAILS: Email[] = [
  {
    subject: 'URGENT: production database is down',
    body: 'The checkout service has been failing for 10 minutes, customers cannot pay. Please join the incident call now.',
    sender: 'oncall@acme-corp.com',
  },
  {
    subject: 'This week in design: 5 articles you missed',
    body: 'Our weekly newsletter: the best reads of the week. Unsubscribe at any time.',
    sender: 'newsletter@designweekly.example',
  },
  {
    subject: 'You have been selected!',
    body: 'Congratulations, you WON a $1000 gift card! Click here to claim your FREE prize now.',
    sender: 'winner@prize-claim.example',
  },
  {
    subject: 'Summer sale: 30% off everything',
    body: 'Shop our summer sale today and save 30% on all shoes and bags. Use code SUMMER30 at checkout.',
    sender: 'deals@shoeshop.example',
  },
];

export async function main(args: string[], client = new EmailClient()): Promise<number> {
  const emails = args.length ? args.map((arg) => JSON.parse(arg) as Email) : SAMPLE_EMAILS;
  try {
    for (const email of emails) {
      const decision = await client.processIncomingEmail(email);
      console.log(JSON.stringify({ email, decision }));
    }
  } catch (err) {
    if (!(err instanceof LoopaiError)) throw err;
    console.error(`email-client: ${err.message}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
