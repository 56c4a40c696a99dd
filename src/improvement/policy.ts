import { conflict } from '../domain/errors';
import type { ImprovementEvent } from '../domain/types';
import type { Logger } from '../logger';
import type { Lifecycle } from '../runtime/lifecycle';
import type { Job } from '../synthesis/jobs';
import type { SynthesisResult, Synthesizer } from '../synthesis/synthesizer';
import { dropZ, type Tally } from '../telemetry/analytics';
import type { Notify } from '../telemetry/webhooks';
import type { PolicyState } from './policy-state';
import type { ValidationReport, ValidationState, Validator } from './validator';

/** Improvement events webhooks hear about as they are (promotions and rollbacks come from Lifecycle.activate). */
const FORWARDED = [
  'accuracy_below_threshold',
  'canary_started',
  'canary_dropped',
  'candidate_rejected',
] as const;

/** z of a one-sided test at 95 %: how sure a drop must be before a promotion is rolled back. */
const SIGNIFICANT = 1.645;

export interface ImprovementResult extends SynthesisResult {
  decision: 'created' | 'promoted' | 'canary' | 'testing' | 'rejected';
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const rate = (t: Tally) => (t.n ? t.correct / t.n : null);
const minus = (a: Tally | undefined, b: Tally): Tally => ({
  n: (a?.n ?? 0) - b.n,
  correct: (a?.correct ?? 0) - b.correct,
});

/**
 * The improvement policy, run after every validation pass: judge a running canary, watch a fresh promotion for
 * a significant drop (and roll back), and when the active version's accuracy over its window falls under
 * `validation.accuracy_threshold` (with `min_samples` verdicts), regenerate from all labelled data. A candidate
 * must beat the active version on the same held-out rows; then `improvement.promotion` says what happens.
 * Every decision is an event in `datasets/events.jsonl` and the log, with the numbers behind it.
 */
export class ImprovementPolicy {
  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly synthesizer: Synthesizer,
    private readonly validator: Validator,
    private readonly logger: Logger,
    private readonly notify: Notify = () => undefined,
  ) {}

  private get store() {
    return this.lifecycle.registry.store;
  }

  /** A validation pass, then the policy. */
  async validate(id: string): Promise<ValidationReport> {
    const report = await this.validator.validate(id);
    await this.review(id);
    return report;
  }

  async event(
    id: string,
    type: string,
    message: string,
    figures: Record<string, unknown> = {},
  ): Promise<void> {
    const event: ImprovementEvent = {
      ts: new Date().toISOString(),
      type,
      loop_app_id: id,
      message,
      ...figures,
    };
    this.logger.info(`improvement: ${message}`, { ...event });
    await this.store.appendEvent(id, event);
    if ((FORWARDED as readonly string[]).includes(type))
      this.notify(type as (typeof FORWARDED)[number], id, event);
  }

  /** Regenerates now (`POST /improve`, or the policy); 409 while one is already queued or running for the app. */
  async improve(id: string, reason: string): Promise<Job> {
    this.lifecycle.app(id);
    const busy = this.synthesizer.jobs.list(id).find((j) => j.state === 'queued' || j.state === 'running');
    if (busy)
      throw conflict(`Loop App '${id}' is already being improved by job ${busy.job_id}`, {
        job_id: busy.job_id,
      });
    this.synthesizer.choose(this.lifecycle.app(id).config);
    const state = await this.validator.state(id);
    state.policy.last_attempt = state.verdicts;
    await this.validator.savePolicy(id);
    return this.synthesizer.jobs.submit('improve', id, async (progress) => {
      progress(`improving: ${reason}`);
      return this.decide(id, await this.synthesizer.run(id, progress));
    });
  }

  /** What becomes of a new candidate: promoted, canaried, left for a person, or rejected. */
  private async decide(id: string, result: SynthesisResult): Promise<ImprovementResult> {
    const { version } = result;
    if (result.activated || !result.compared_with) {
      await this.event(id, 'created', `${version} made and activated (no version was active)`, { version });
      return { ...result, decision: 'created' };
    }
    const compared = result.compared_with;
    const figures = {
      version,
      candidate_accuracy: compared.candidate_accuracy,
      active_version: compared.version,
      active_accuracy: compared.accuracy,
      n: compared.n,
      candidate_eval: result.eval.accuracy,
      method: result.eval.method,
    };
    const versus = `${version} ${pct(compared.candidate_accuracy)} vs ${compared.version} ${pct(compared.accuracy)} on the same ${compared.n} rows neither trained on`;
    if (!(compared.n > 0 && compared.candidate_accuracy > compared.accuracy)) {
      await this.store.updateMetadata(id, version, { status: 'rejected' });
      const why = compared.n
        ? `it does not beat the active version (${versus})`
        : `no labelled row is new to both it and ${compared.version}, so it cannot be shown to be better`;
      await this.event(id, 'candidate_rejected', `${version} rejected: ${why}`, figures);
      return { ...result, decision: 'rejected' };
    }
    const { promotion, canary_percent } = this.lifecycle.app(id).config.improvement;
    if (promotion === 'auto') {
      await this.promote(
        id,
        version,
        result.compared_with.version,
        `${version} promoted (${versus})`,
        figures,
      );
      return { ...result, activated: true, decision: 'promoted' };
    }
    if (promotion === 'canary') {
      await this.lifecycle.updateSettings(id, { rollout: { candidate: version, percent: canary_percent } });
      await this.startCanary(id, version, result.compared_with.version);
      await this.event(
        id,
        'canary_started',
        `${version} serves ${canary_percent} % of traffic as a canary (${versus})`,
        {
          ...figures,
          percent: canary_percent,
        },
      );
      return { ...result, decision: 'canary' };
    }
    await this.event(
      id,
      'candidate_ready',
      `${version} waits for a person to activate it (${versus})`,
      figures,
    );
    return { ...result, decision: 'testing' };
  }

  private async promote(
    id: string,
    version: string,
    previous: string,
    message: string,
    figures: Record<string, unknown>,
  ) {
    const state = await this.validator.state(id);
    const before = this.validator.windowAccuracy(state, previous);
    await this.lifecycle.activate(id, version, 'improved');
    // the bar after promotion: the replaced version's recent verdicts, or its held-out score when it has none
    let baseline: Tally = { n: before.n, correct: before.correct };
    if (!baseline.n) {
      const compared = (await this.store.readMetadata(id, version))?.compared_with;
      if (compared) baseline = { n: compared.n, correct: Math.round(compared.accuracy * compared.n) };
    }
    state.policy.watch = {
      version,
      previous,
      since: new Date().toISOString(),
      start: { ...(state.totals[version] ?? { n: 0, correct: 0 }) },
      baseline,
    };
    await this.validator.savePolicy(id);
    await this.event(id, 'promoted', message, figures);
  }

  private async startCanary(id: string, candidate: string, active: string): Promise<void> {
    const state = await this.validator.state(id);
    state.policy.canary = {
      candidate,
      active,
      since: new Date().toISOString(),
      start: {
        candidate: { ...(state.totals[candidate] ?? { n: 0, correct: 0 }) },
        active: { ...(state.totals[active] ?? { n: 0, correct: 0 }) },
      },
    };
    await this.validator.savePolicy(id);
  }

  /** The policy after a validation pass. */
  async review(id: string): Promise<void> {
    const app = this.lifecycle.registry.get(id);
    if (!app || app.config.status === 'archived' || !app.program) return;
    const state = await this.validator.state(id);
    const policy = state.policy;
    if (await this.reviewCanary(id, state, policy)) return;
    await this.reviewWatch(id, state, policy);
    await this.maybeImprove(id, state, policy);
  }

  /** Judges a running canary (started by the policy or written into config.yaml by hand). True while one runs. */
  private async reviewCanary(id: string, state: ValidationState, policy: PolicyState): Promise<boolean> {
    const app = this.lifecycle.app(id);
    const candidate = app.candidate?.version ?? null;
    const active = app.program!.version;
    if (!candidate) {
      if (policy.canary) {
        const ended = policy.canary;
        delete policy.canary;
        await this.validator.savePolicy(id);
        if (ended.candidate !== active) {
          await this.event(
            id,
            'canary_ended',
            `the canary of ${ended.candidate} ended without a verdict (rollout was changed in config.yaml)`,
            {
              version: ended.candidate,
            },
          );
        }
      }
      return false;
    }
    if (!policy.canary || policy.canary.candidate !== candidate || policy.canary.active !== active) {
      await this.startCanary(id, candidate, active);
      await this.event(
        id,
        'canary_started',
        `${candidate} serves ${app.config.rollout.percent} % of traffic as a canary (set in config.yaml)`,
        {
          version: candidate,
          percent: app.config.rollout.percent,
        },
      );
      return true;
    }
    const canary = policy.canary;
    const cand = minus(state.totals[candidate], canary.start.candidate);
    const act = minus(state.totals[active], canary.start.active);
    const need = app.config.improvement.canary_min_samples;
    if (cand.n < need || act.n < need) return true;
    const figures = {
      version: candidate,
      candidate_accuracy: rate(cand),
      candidate_n: cand.n,
      active_version: active,
      active_accuracy: rate(act),
      active_n: act.n,
    };
    const versus = `${candidate} ${pct(rate(cand))} (n=${cand.n}) vs ${active} ${pct(rate(act))} (n=${act.n}) on canary traffic`;
    delete policy.canary;
    await this.lifecycle.updateSettings(id, { rollout: { candidate: null, percent: 0 } });
    if (rate(cand)! >= rate(act)!) {
      await this.promote(
        id,
        candidate,
        active,
        `${candidate} won its canary and is promoted (${versus})`,
        figures,
      );
    } else {
      await this.store.updateMetadata(id, candidate, { status: 'rejected' });
      await this.validator.savePolicy(id);
      await this.event(
        id,
        'canary_dropped',
        `${candidate} lost its canary and is dropped (${versus})`,
        figures,
      );
    }
    return true;
  }

  /** After a promotion: a significant drop against the replaced version rolls back; enough verdicts without one confirm it. */
  private async reviewWatch(id: string, state: ValidationState, policy: PolicyState): Promise<void> {
    const watch = policy.watch;
    if (!watch) return;
    const app = this.lifecycle.app(id);
    if (app.program!.version !== watch.version) {
      delete policy.watch; // someone activated another version meanwhile
      await this.validator.savePolicy(id);
      return;
    }
    const since = minus(state.totals[watch.version], watch.start);
    const { min_samples } = app.config.validation;
    const { rollback_margin } = app.config.improvement;
    const needed = Math.min(min_samples, app.config.validation.window);
    if (since.n < needed) return;
    const z = dropZ(since.correct, since.n, watch.baseline.correct, watch.baseline.n);
    const figures = {
      version: watch.version,
      accuracy: rate(since),
      n: since.n,
      previous_version: watch.previous,
      previous_accuracy: rate(watch.baseline),
      previous_n: watch.baseline.n,
      z: Math.round(z * 100) / 100,
    };
    delete policy.watch;
    await this.validator.savePolicy(id);
    const dropped = rate(since)! < rate(watch.baseline)! - rollback_margin && z >= SIGNIFICANT;
    const versus = `${watch.version} ${pct(rate(since))} (n=${since.n}) vs ${watch.previous} ${pct(rate(watch.baseline))} (n=${watch.baseline.n})`;
    if (dropped) {
      await this.lifecycle.activate(id, watch.previous, 'rollback');
      await this.event(
        id,
        'rolled_back',
        `${watch.version} rolled back to ${watch.previous}: accuracy dropped significantly (${versus})`,
        figures,
      );
    } else {
      await this.event(id, 'promotion_confirmed', `${watch.version} keeps serving (${versus})`, figures);
    }
  }

  /** Starts an improvement when the active version's windowed accuracy is under the threshold. */
  private async maybeImprove(id: string, state: ValidationState, policy: PolicyState): Promise<void> {
    const app = this.lifecycle.app(id);
    const { accuracy_threshold, min_samples } = app.config.validation;
    if (!app.config.improvement.auto || policy.watch) return;
    const window = this.validator.windowAccuracy(state, app.program!.version);
    if (window.n < min_samples || window.accuracy! >= accuracy_threshold) return;
    if (policy.last_attempt !== undefined && state.verdicts - policy.last_attempt < min_samples) return;
    if (this.synthesizer.jobs.list(id).some((j) => j.state === 'queued' || j.state === 'running')) return;
    await this.event(
      id,
      'accuracy_below_threshold',
      `${app.program!.version} is at ${pct(window.accuracy)} over its last ${window.n} verdicts, under ${pct(accuracy_threshold)}: regenerating`,
      {
        version: app.program!.version,
        accuracy: window.accuracy,
        n: window.n,
        threshold: accuracy_threshold,
      },
    );
    await this.improve(id, `accuracy ${pct(window.accuracy)} < ${pct(accuracy_threshold)}`);
  }
}
