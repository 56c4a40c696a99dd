import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger';
import type { Registry } from '../runtime/registry';
import type { ImprovementPolicy } from './policy';
import type { Validator } from './validator';

/** Validation passes run side by side at most. */
const PASSES_AT_ONCE = 4;
/** The daily job (UTC): retention. */
const DAILY = '17 3 * * *';

/**
 * Runs each app's validation pass (and the policy after it) on its `validation.schedule`, and the daily
 * retention job. Follows the registry: an edited schedule is picked up on reload, a removed or archived app
 * stops being scheduled. Apps that share a schedule share one cron task (10,000 apps are not 10,000 timers).
 * Passes of one app never overlap; close() waits for the ones running.
 */
export class Scheduler {
  /** One cron task per distinct schedule, and the apps on it. */
  private groups = new Map<string, { task: ScheduledTask; apps: Set<string> }>();
  private scheduleOf = new Map<string, string>();
  /** Apps with a pass running or waiting to run. */
  private passing = new Set<string>();
  /** Apps due, in order (a Set: its iterators skip what another runner took meanwhile). */
  private waiting = new Set<string>();
  private runners = 0;
  private daily: ScheduledTask | null = null;
  private running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly validator: Validator,
    private readonly policy: ImprovementPolicy,
    private readonly logger: Logger,
  ) {}

  /** `validates: false` (an edge: its cloud validates) runs retention only. */
  start(validates = true): void {
    if (validates) {
      for (const app of this.registry.list()) this.sync(app.id);
      this.registry.onChange((id) => this.sync(id));
    }
    this.daily = cron.schedule(DAILY, () => this.track(this.retention()), {
      name: 'retention',
      noOverlap: true,
      timezone: 'UTC',
    });
    void this.track(this.retention());
  }

  /** Keeps work in flight in view until it settles, for close() to wait for. */
  private track(work: Promise<void>): Promise<void> {
    const done = () => void this.running.delete(work);
    this.running.add(work);
    work.then(done, done);
    return work;
  }

  private sync(id: string): void {
    if (this.closed) return; // a reload that ends after close() schedules nothing
    const app = this.registry.get(id);
    if (!app) this.validator.forget(id); // its folder is gone: so is what validation kept of it
    const current = this.scheduleOf.get(id);
    const schedule = app && app.config.status !== 'archived' ? app.config.validation.schedule : undefined;
    if (current === schedule) return;
    if (current !== undefined) this.leave(id, current);
    if (schedule === undefined) return;
    this.scheduleOf.set(id, schedule);
    let group = this.groups.get(schedule);
    if (!group) {
      const apps = new Set<string>();
      const task = cron.schedule(schedule, () => this.due(apps), {
        name: `validate ${schedule}`,
        timezone: 'UTC',
      });
      this.groups.set(schedule, (group = { task, apps }));
    }
    group.apps.add(id);
  }

  private leave(id: string, schedule: string): void {
    this.scheduleOf.delete(id);
    if (this.waiting.delete(id)) this.passing.delete(id); // due but not begun: an archived app gets no pass
    const group = this.groups.get(schedule);
    group?.apps.delete(id);
    if (group && !group.apps.size) {
      void group.task.destroy();
      this.groups.delete(schedule);
    }
  }

  /**
   * The schedule is due: a pass for each of its apps, none for an app whose last pass is still running or waiting,
   * a few at a time (10,000 apps on one schedule must not read 10,000 execution logs at once).
   */
  private due(apps: Set<string>): void {
    for (const id of apps) {
      if (this.passing.has(id)) continue;
      this.passing.add(id);
      this.waiting.add(id);
    }
    // a runner takes its first app before it yields: each one started is one app fewer waiting
    while (this.runners < PASSES_AT_ONCE && this.waiting.size > 0) {
      this.runners += 1;
      void this.track(this.runPasses().finally(() => (this.runners -= 1)));
    }
  }

  private async runPasses(): Promise<void> {
    for (const id of this.waiting) {
      if (this.closed) return;
      this.waiting.delete(id);
      await this.pass(id);
      this.passing.delete(id);
    }
  }

  private async pass(id: string): Promise<void> {
    try {
      const report = await this.policy.validate(id);
      if (report.ingested || report.validated || report.failed)
        this.logger.info('validation pass', {
          loop_app_id: id,
          ...report,
          errors: report.errors.slice(0, 3),
        });
    } catch (err) {
      this.logger.warn('validation pass failed', { loop_app_id: id, error: (err as Error).message });
    }
  }

  async retention(): Promise<void> {
    for (const app of this.registry.list()) {
      try {
        const deleted = await this.validator.applyRetention(app.id);
        if (deleted.length)
          this.logger.info('retention: old executions deleted', { loop_app_id: app.id, files: deleted });
      } catch (err) {
        this.logger.warn('retention failed', { loop_app_id: app.id, error: (err as Error).message });
      }
    }
  }

  /** Stops scheduling, then waits for the passes in flight (stop their oracles first, or this waits for them). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups.values()].map(({ task }) => task.destroy()));
    this.groups.clear();
    this.scheduleOf.clear();
    await this.daily?.destroy();
    await Promise.all(this.running);
  }
}
