import type { LoopAppConfig, SampleRule } from '../domain/types';

/** Share of the budget the `uncertainty` strategy still spends at random, so accuracy estimates stay unbiased. */
const RANDOM_SHARE = 0.2;
const BINS = 20;
/** Confidences seen before the histogram halves: it follows the recent traffic, not all of history. */
const HALF_LIFE = 2000;

/** Recent confidences of one app, as a decaying histogram over [0, 1]. */
class ConfidenceHistogram {
  private counts = new Float64Array(BINS);
  private total = 0;
  private seen = 0;

  add(confidence: number): void {
    this.counts[binOf(confidence)] += 1;
    this.total += 1;
    if (++this.seen % HALF_LIFE === 0) {
      for (let b = 0; b < BINS; b++) this.counts[b] /= 2;
      this.total /= 2;
    }
  }

  /**
   * The probability of sampling an execution with this confidence so that a `share` of recent traffic is
   * sampled, lowest confidences first: every bin below the cut, part of the bin the cut falls in, none above.
   */
  probability(confidence: number, share: number): number {
    if (this.total === 0) return share;
    const want = share * this.total;
    const bin = binOf(confidence);
    let below = 0;
    for (let b = 0; b < bin; b++) below += this.counts[b];
    if (below >= want) return 0;
    const here = this.counts[bin];
    return Math.min(1, (want - below) / here);
  }
}

const binOf = (confidence: number): number => Math.min(BINS - 1, Math.max(0, Math.floor(confidence * BINS)));

/**
 * Decides which executions are sampled for checking by an oracle (`sampling` in config.yaml). `random` samples at
 * the rate; `uncertainty` spends the same budget mostly on the least confident answers, keeping a random share.
 */
export class Sampler {
  private histograms = new Map<string, ConfidenceHistogram>();

  constructor(private readonly random: () => number = Math.random) {}

  /** `key` names whose recent confidences an answer is judged against (an app's version). */
  decide(key: string, sampling: LoopAppConfig['sampling'], confidence: number | null): SampleRule | null {
    const { rate, strategy } = sampling;
    if (rate <= 0) return null;
    // every execution, whatever the strategy (its two draws would otherwise overlap and miss some)
    if (rate >= 1) return 'random';
    if (strategy === 'random' || confidence === null) return this.random() < rate ? 'random' : null;
    let histogram = this.histograms.get(key);
    if (!histogram) this.histograms.set(key, (histogram = new ConfidenceHistogram()));
    // counted first, so a confidence lower than all seen so far (a fresh version's) is judged against itself too
    histogram.add(confidence);
    const pick = this.random() < rate * RANDOM_SHARE ? 'random' : null;
    const uncertain = this.random() < histogram.probability(confidence, rate * (1 - RANDOM_SHARE));
    return pick ?? (uncertain ? 'uncertainty' : null);
  }
}

/** Raw inputs kept per app at most: about a day of samples at a few thousand calls an hour. */
const MAX_KEPT_INPUTS = 10_000;

/**
 * The raw inputs of sampled executions, in memory until their verdict: the oracle sees what the program saw,
 * while the disk holds only what `privacy` allows (nothing at all with `store_inputs: none`). A restart loses
 * them; samples whose input is on disk neither then still get validated.
 */
export class SampleInputs {
  private byApp = new Map<string, Map<string, unknown>>();

  keep(appId: string, executionId: string, input: unknown): void {
    let inputs = this.byApp.get(appId);
    if (!inputs) this.byApp.set(appId, (inputs = new Map()));
    inputs.set(executionId, input);
    // Maps iterate in insertion order: the first key is the oldest
    if (inputs.size > MAX_KEPT_INPUTS) inputs.delete(inputs.keys().next().value as string);
  }

  get(appId: string, executionId: string): unknown {
    return this.byApp.get(appId)?.get(executionId);
  }

  delete(appId: string, executionId: string): void {
    this.byApp.get(appId)?.delete(executionId);
  }
}
