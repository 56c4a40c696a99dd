import { badRequest } from '../domain/errors';
import type { EvalReport, GeneratorChoice, LoopAppConfig, VersionMetadata } from '../domain/types';
import type { Lifecycle } from '../runtime/lifecycle';
import type { LiveApp } from '../runtime/registry';
import { canonical, evaluateInSandbox, holdout, score, stratifiedFolds } from './evaluate';
import type { Job, Jobs } from './jobs';
import type { Candidate, Generator, Labelled, ProgramFiles, Scored } from './generator';

/** What of a scored run is kept in metadata.json: the figures, not the rows. */
const toReport = (
  { accuracy, n, method, interval, per_class, confusion }: Omit<Scored, 'failures'>,
  estimates: EvalReport['estimates'],
): EvalReport => ({ accuracy, n, method, interval, estimates, per_class, confusion });

/** Below this many held-out rows a fifth is too few to judge by (the LLM is then scored on its training rows). */
const MIN_HELD_OUT = 10;
const K_FOLDS = 5;
/** Up to this many rows, leave-one-out: every row is scored by a program made from all the others. */
const LEAVE_ONE_OUT_MAX = 30;
/** From this many rows a held-out fifth (scored before the refit on all rows) is precise enough, and cheaper. */
const HELD_OUT_FROM = 5000;

/** How a generator's procedure is scored on `n` rows (a learner's version is then trained on all of them). */
function plan(n: number): { kind: 'loo' | 'folds' | 'held-out'; describe: string } {
  if (n >= HELD_OUT_FROM)
    return { kind: 'held-out', describe: 'held-out fifth, scored before the refit on all rows' };
  if (n <= LEAVE_ONE_OUT_MAX) return { kind: 'loo', describe: 'leave-one-out cross-validation' };
  return { kind: 'folds', describe: `stratified ${K_FOLDS}-fold cross-validation` };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** `81.8 % (95 % CI 77.0–86.0 %, stratified 5-fold cross-validation, n=666)` */
export function describeScore(r: EvalReport): string {
  const ci = r.interval ? `95 % CI ${pct(r.interval.low)}–${pct(r.interval.high)}, ` : '';
  return `${pct(r.accuracy)} (${ci}${r.method}, n=${r.n})`;
}

export interface SynthesisResult {
  version: string;
  activated: boolean;
  generator: string;
  eval: EvalReport;
  compared_with?: VersionMetadata['compared_with'];
  candidates: NonNullable<VersionMetadata['candidates']>;
}

type Progress = (message: string) => void;

/**
 * What a version without a `seen` record learned from: a program written by hand learned from no row here; one a
 * generator made before `seen` was recorded is trusted only on its held-out fifth.
 */
function seenBy(meta: VersionMetadata | null): NonNullable<VersionMetadata['seen']> {
  const generated = meta?.generator === 'learner' || meta?.generator === 'llm';
  return generated
    ? { examples: Infinity, held_out: meta?.eval?.method === 'held-out' }
    : { examples: 0, held_out: false };
}

/** A labelled row and the line of examples.jsonl it comes from. */
type Row = Labelled & { line: number };

/** A candidate, its score, and what it predicted for rows it did not train on. */
interface ScoredCandidate {
  candidate: Candidate;
  report: EvalReport;
  predicted: Map<Labelled, unknown>;
  /** Rows the served program learned from, and whether the held-out fifth was kept from it. */
  trainedOn: number;
  heldOut: boolean;
}

/**
 * Makes a new version from the spec and all labelled data: every chosen generator makes a candidate, each is
 * scored on rows it never saw, and the best is written as `vN+1`, with the active version's score on the same
 * held-out rows beside it. The first version becomes active; later ones are left for the improvement policy.
 */
export class Synthesizer {
  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly generators: Generator[],
    private readonly defaultChoice: GeneratorChoice,
    readonly jobs: Jobs,
  ) {}

  /** Generators this app would use; a 400 that says why when none can (before anything is written). */
  choose(config: LoopAppConfig): Generator[] {
    const choice = config.generator ?? this.defaultChoice;
    const wanted = this.generators.filter((g) => choice === 'auto' || g.name === choice);
    const usable = wanted.filter((g) => g.unavailable(config) === null);
    if (!usable.length) {
      const reasons = wanted.map((g) => `${g.name}: ${g.unavailable(config)}`).join(' ');
      throw badRequest(
        'cannot_generate',
        `no generator can make a program for '${config.loop_app_id}' (generator: ${choice}). ${reasons}`,
      );
    }
    return usable;
  }

  /** Starts the job that makes an app's first version (regeneration goes through the improvement policy). */
  submitCreate(appId: string): Job {
    this.choose(this.lifecycle.app(appId).config);
    return this.jobs.submit('create', appId, (progress) => this.run(appId, progress));
  }

  async run(appId: string, progress: Progress): Promise<SynthesisResult> {
    const app = this.lifecycle.app(appId);
    const generators = this.choose(app.config);
    const { rows, lines } = await this.labelledRows(appId);
    if (!rows.length) {
      throw new Error(`'${appId}' has no labelled examples; POST /loop-apps/${appId}/examples first`);
    }
    const split = holdout(rows);
    const scarce = split.test.length < MIN_HELD_OUT || split.train.length < MIN_HELD_OUT;
    const how = plan(rows.length);
    progress(
      `${rows.length} labelled rows: scoring by ${how.describe}` +
        (how.kind === 'held-out' ? ` (${split.test.length} held out)` : '') +
        '; the version is then trained on all of them' +
        (generators.some((g) => g.name === 'llm')
          ? scarce
            ? ' (the LLM is shown every row and scored on them)'
            : ` (the LLM's program is made from ${split.train.length} and scored on the ${split.test.length} held out)`
          : ''),
    );

    const scored: Array<ScoredCandidate> = [];
    const candidates: SynthesisResult['candidates'] = [];
    for (const generator of generators) {
      try {
        const result =
          generator.name === 'llm'
            ? await this.llmScored(app, generator, rows, split, scarce, progress)
            : await this.refitted(app, generator, rows, split, progress);
        progress(`${generator.name}: accuracy ${describeScore(result.report)}`);
        scored.push(result);
        candidates.push({ generator: generator.name, accuracy: result.report.accuracy });
      } catch (err) {
        const message = (err as Error).message;
        progress(`${generator.name} failed: ${message}`);
        candidates.push({ generator: generator.name, accuracy: null, error: message });
      }
    }
    if (!scored.length) {
      throw new Error(
        `every generator failed: ${candidates.map((c) => `${c.generator}: ${c.error}`).join('; ')}`,
      );
    }
    // the best score wins; on a tie the earlier generator (the learner: cheaper, deterministic)
    const best = scored.reduce((a, b) => (b.report.accuracy > a.report.accuracy ? b : a));

    const active = await this.lifecycle.registry.store.activeVersion(appId);
    const compared_with = active ? await this.compare(app, active, best, rows, progress) : undefined;

    const meta = await this.lifecycle.addVersion(appId, best.candidate, {
      generator: best.candidate.generator,
      eval: best.report,
      trained_on: best.trainedOn,
      seen: { examples: lines, held_out: best.heldOut },
      notes: best.candidate.notes,
      template: best.candidate.template,
      compared_with,
      candidates,
    });
    // the first version serves at once; whether a later one replaces the active version is the improvement policy's call
    const activated = !active;
    if (activated) await this.lifecycle.activate(appId, meta.version, 'created');
    progress(activated ? `${meta.version} is active` : `${meta.version} is written (status testing)`);
    return {
      version: meta.version,
      activated,
      generator: best.candidate.generator,
      eval: best.report,
      compared_with,
      candidates,
    };
  }

  /**
   * All labelled rows, one per distinct input (the latest label wins: a correction replaces the old one), each
   * with the line of examples.jsonl it comes from; and how many lines there are.
   */
  private async labelledRows(appId: string): Promise<{ rows: Row[]; lines: number }> {
    const byInput = new Map<string, Row>();
    const examples = await this.lifecycle.registry.store.readExamples(appId);
    examples.forEach((row, line) => {
      const key = canonical(row.input);
      byInput.delete(key); // keep the map in line order
      byInput.set(key, { input: row.input, output: row.output, line });
    });
    return { rows: [...byInput.values()], lines: examples.length };
  }

  /**
   * The active version against the candidate on rows neither trained on: rows the active version never saw (added
   * after it was made, or in its held-out fifth) on which the candidate's score is honest too (its held-out rows, or
   * every row under cross-validation).
   */
  private async compare(
    app: LiveApp,
    active: string,
    best: ScoredCandidate,
    rows: Row[],
    progress: Progress,
  ): Promise<NonNullable<SynthesisResult['compared_with']>> {
    const current = await this.lifecycle.registry.store.readVersion(app.id, active);
    const seen = current.metadata?.seen ?? seenBy(current.metadata);
    const heldOut = new Set(holdout(rows).test);
    const same = rows.filter(
      (r) => best.predicted.has(r) && (r.line >= seen.examples || (seen.held_out && heldOut.has(r))),
    );
    if (!same.length) {
      progress(`no labelled rows that neither ${active} nor the candidate trained on: nothing to compare`);
      return { version: active, accuracy: 0, candidate_accuracy: 0, n: 0 };
    }
    const { ['program.js']: code, ...files } = current.files;
    const theirs = await this.evaluate(app, { code: code ?? '', files }, same, 'rows neither trained on');
    const ours = score(
      same.map((r) => r.output),
      same.map((r) => best.predicted.get(r)),
      'rows neither trained on',
      app.config.output_schema,
    );
    progress(
      `on ${same.length} rows neither trained on: candidate ${(ours.accuracy * 100).toFixed(1)} %, ${active} ${(theirs.accuracy * 100).toFixed(1)} %`,
    );
    return { version: active, accuracy: theirs.accuracy, candidate_accuracy: ours.accuracy, n: same.length };
  }

  /**
   * An LLM's program: made from the rows outside the held-out fifth and scored on that fifth (an LLM run per fold
   * would cost k times as much), and served as it is; with too few rows, made from and scored on all of them
   * (claiming no row as unseen, so it is compared with an active version on nothing it trained on).
   */
  private async llmScored(
    app: LiveApp,
    generator: Generator,
    rows: Row[],
    split: { train: Row[]; test: Row[] },
    scarce: boolean,
    progress: Progress,
  ): Promise<ScoredCandidate> {
    const train = scarce ? rows : split.train;
    const candidate = await generator.generate(this.context(app, train, progress));
    if (scarce) {
      const run = await this.evaluate(app, candidate, rows, 'training rows (too few to hold out)');
      return {
        candidate,
        report: toReport(run, 'program'),
        predicted: new Map(),
        trainedOn: rows.length,
        heldOut: false,
      };
    }
    const run = await this.evaluate(app, candidate, split.test, 'held-out fifth');
    return {
      candidate,
      report: toReport(run, 'program'),
      predicted: new Map(split.test.map((r, i) => [r, run.predicted[i]])),
      trainedOn: train.length,
      heldOut: true,
    };
  }

  /**
   * The generator's procedure scored on rows its programs never saw (see `plan`: leave-one-out, stratified
   * folds, or the held-out fifth), then the program it makes from every row: the version that serves.
   */
  private async refitted(
    app: LiveApp,
    generator: Generator,
    rows: Row[],
    split: { train: Row[]; test: Row[] },
    progress: Progress,
  ): Promise<ScoredCandidate> {
    const how = plan(rows.length);
    const parts =
      how.kind === 'held-out'
        ? [split]
        : stratifiedFolds(rows, how.kind === 'loo' ? rows.length : Math.min(K_FOLDS, rows.length));
    const predicted = new Map<Labelled, unknown>();
    const every = parts.length > 10 ? 10 : 1;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (!part.test.length || !part.train.length) continue;
      if ((i + 1) % every === 0 || i === 0)
        progress(
          `${generator.name}: scoring, ${how.kind === 'held-out' ? 'held-out fit' : `fold ${i + 1}/${parts.length}`}`,
        );
      const candidate = await generator.generate(this.context(app, part.train, () => undefined));
      const run = await this.evaluate(app, candidate, part.test, 'fold');
      part.test.forEach((r, j) => predicted.set(r, run.predicted[j]));
    }
    progress(`${generator.name}: training the version on all ${rows.length} rows`);
    const candidate = await generator.generate(this.context(app, rows, progress));
    const scoredRows = [...predicted.keys()];
    const report = score(
      scoredRows.map((r) => r.output),
      scoredRows.map((r) => predicted.get(r)),
      how.describe,
      app.config.output_schema,
    );
    return {
      candidate,
      report: toReport(report, 'procedure'),
      predicted,
      trainedOn: rows.length,
      heldOut: false,
    };
  }

  private context(app: LiveApp, train: Labelled[], progress: Progress) {
    return {
      spec: app.config,
      train,
      evaluate: (program: ProgramFiles, rows: Labelled[]) =>
        this.evaluate(app, program, rows, 'training rows'),
      progress,
    };
  }

  private evaluate(app: LiveApp, program: ProgramFiles, rows: Labelled[], method: string) {
    const { timeout_ms, memory_mb, max_result_bytes } = app.config.execution;
    return evaluateInSandbox(
      this.lifecycle.registry.pool,
      app.id,
      program,
      rows,
      { timeoutMs: Math.max(timeout_ms, 1000), memoryMb: memory_mb, maxResultBytes: max_result_bytes },
      method,
      app.config.output_schema,
    );
  }
}
