/**
 * The e-commerce Consumer App of the concepts document: three Loop Apps behind one review flow.
 *
 *   npx tsc -p examples/consumer/typescript && node dist/examples/consumer/typescript/ecommerce.js ["review text" …]
 *
 * Prints one JSON line per review: {"review": …, "decision": …}. Without arguments it runs a few sample reviews.
 * The server is $LOOPAI_URL (default http://127.0.0.1:8080), the key $LOOPAI_API_KEY, as LoopaiClient reads them.
 */

import { LoopaiClient, LoopaiError } from '../../../clients/typescript/src';

export type Sentiment = 'positive' | 'negative' | 'neutral';
export type Category =
  'electronics' | 'home_kitchen' | 'clothing' | 'books' | 'beauty' | 'sports_outdoors' | 'toys_games';

export type ReviewDecision =
  { status: 'rejected'; reason: 'spam' } | { status: 'approved'; sentiment: Sentiment; category: Category };

/** The Loop Apps the platform calls; any left out are made with the defaults (env LOOPAI_URL, LOOPAI_API_KEY). */
export interface EcommerceClients {
  spamDetector?: LoopaiClient;
  sentimentAnalyzer?: LoopaiClient;
  productCategorizer?: LoopaiClient;
}

/** Consumer App that uses several Loop Apps. */
export class EcommercePlatform {
  readonly spamDetector: LoopaiClient;
  readonly sentimentAnalyzer: LoopaiClient;
  readonly productCategorizer: LoopaiClient;

  constructor(clients: EcommerceClients = {}) {
    this.spamDetector = clients.spamDetector ?? new LoopaiClient('spam-detector-001');
    this.sentimentAnalyzer = clients.sentimentAnalyzer ?? new LoopaiClient('sentiment-analyzer-001');
    this.productCategorizer = clients.productCategorizer ?? new LoopaiClient('product-categorizer-001');
  }

  async processReview(review: string): Promise<ReviewDecision> {
    // Check if review is spam
    if ((await this.spamDetector.execute({ text: review })).output === 'spam') {
      return { status: 'rejected', reason: 'spam' };
    }

    // Analyze sentiment. The document sends {"text": review}; sentiment-analyzer-001's input schema names the
    // field "feedback", so the review goes there.
    const sentiment = (await this.sentimentAnalyzer.execute<Sentiment>({ feedback: review })).output;

    // Categorize product
    const category = (await this.productCategorizer.execute<Category>({ text: review })).output;

    return {
      status: 'approved',
      sentiment,
      category,
    };
  }
}

export const SAMPLE_REVIEWS = [
  'Amazing headphones! The noise cancelling and battery life are excellent, I love them.',
  'CLICK HERE to win a FREE iPhone!!! Limited offer, claim your prize now at www.win-prizes.example',
  'The frying pan scratched after one week and the handle got loose. Very disappointed.',
  'The novel was okay, a slow start but a decent ending.',
];

export async function main(reviews: string[], platform = new EcommercePlatform()): Promise<number> {
  try {
    for (const review of reviews.length ? reviews : SAMPLE_REVIEWS) {
      const decision = await platform.processReview(review);
      console.log(JSON.stringify({ review, decision }));
    }
  } catch (err) {
    if (!(err instanceof LoopaiError)) throw err;
    console.error(`ecommerce: ${err.message}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
