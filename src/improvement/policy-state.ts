import type { Tally } from '../telemetry/analytics';

/** A canary: both arms' verdict totals when it started, so what was judged during it is the difference. */
export interface CanaryState {
  candidate: string;
  active: string;
  since: string;
  start: { candidate: Tally; active: Tally };
}

/** A promotion under watch: the version it replaced and how well that one did. */
export interface WatchState {
  version: string;
  previous: string;
  since: string;
  start: Tally;
  baseline: Tally;
}

/**
 * What the improvement policy keeps of one app between passes. It is saved as `policy` in
 * `validations/state.json`, beside the verdict totals it is measured against, and in the same write.
 */
export interface PolicyState {
  /** `verdicts` when the last improvement started: the next waits for `min_samples` new ones. */
  last_attempt?: number;
  canary?: CanaryState;
  watch?: WatchState;
}
