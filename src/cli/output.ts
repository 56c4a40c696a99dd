import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { EvalReport } from '../domain/types';

type Cell = string | number | boolean | null | undefined;

/** The exact API JSON, for scripts (`--json`). */
export const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

/** One JSON value per line (JSONL), for results meant to be streamed. */
export const printJsonLine = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const plain = { head: [] as string[], border: [] as string[], compact: true };

/** A table with a header row; no colours, so it reads the same in a terminal, a pipe or a log. */
export function table(head: string[], rows: Cell[][]): string {
  const t = new Table({ head, style: plain });
  t.push(...rows.map((row) => row.map(text)));
  return t.toString();
}

/** Field / value pairs, one a row (values that are objects are shown as JSON). */
export function details(pairs: Array<[string, unknown]>): string {
  const values = pairs.map(([, v]) => text(v));
  // long values (schemas) wrap at a readable width instead of making the table as wide as they are
  const width = Math.min(100, Math.max(...values.map((v) => v.length)) + 2);
  const t = new Table({ style: plain, wordWrap: true, wrapOnWordBoundary: false, colWidths: [null, width] });
  t.push(...pairs.map(([k], i) => ({ [k]: values[i] })));
  return t.toString();
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** 0.9512 → "95.1 %"; null stays "-". */
export const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)} %`;

/** `81.8 % (95 % CI 77.0 %–86.0 %, stratified 5-fold cross-validation, n=666)`: a score with its interval. */
export function scoreText(report: EvalReport): string {
  const ci = report.interval ? `95 % CI ${pct(report.interval.low)}–${pct(report.interval.high)}, ` : '';
  return `${pct(report.accuracy)} (${ci}${report.method}, n=${report.n})`;
}

/** Accuracy, per-class precision/recall and the confusion matrix (rows: expected, columns: predicted). */
export function evalReport(report: EvalReport): string {
  const lines = [`accuracy ${scoreText(report)}`];
  if (report.per_class) {
    lines.push(
      '',
      'per class:',
      table(
        ['class', 'precision', 'recall', 'support'],
        Object.entries(report.per_class).map(([c, m]) => [c, pct(m.precision), pct(m.recall), m.support]),
      ),
    );
  }
  if (report.confusion) {
    const expected = Object.keys(report.confusion).sort();
    const predicted = [
      ...new Set([...expected, ...Object.values(report.confusion).flatMap(Object.keys)]),
    ].sort();
    lines.push(
      '',
      'confusion matrix (rows: expected, columns: predicted):',
      table(
        ['expected \\ predicted', ...predicted],
        expected.map((e) => [e, ...predicted.map((p) => report.confusion?.[e]?.[p] ?? 0)]),
      ),
    );
  } else {
    lines.push('', 'too many classes for a per-class report and a confusion matrix');
  }
  return lines.join('\n');
}

export interface Progress {
  increment(n: number): void;
  stop(): void;
}

/** A progress bar on stderr when stderr is a terminal; nothing otherwise (logs and pipes stay clean). */
export function progressBar(total: number, label: string): Progress {
  if (!process.stderr.isTTY) return { increment: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: (n) => bar.increment(n), stop: () => bar.stop() };
}
