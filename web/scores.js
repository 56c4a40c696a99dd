// How a version's score (its `eval`: accuracy, interval, n, method, per-class figures and confusion matrix) is
// shown: in the versions table, when a job has made a version, and when two versions are compared.
import { h, joinParts, num, pct } from './dom.js';
import { empty, stat, table } from './ui.js';

/** "95 % CI 81.2 %–97.0 %" for a Wilson interval `{low, high, level}`. */
export const intervalText = (interval) =>
  `${Math.round((interval.level ?? 0.95) * 100)} % CI ${pct(interval.low)}–${pct(interval.high)}`;

/** The accuracy with its interval under it, for a table cell; a dash when there is no score. */
export const accuracyCell = (ev) =>
  ev
    ? h(
        'span',
        {},
        pct(ev.accuracy),
        ev.interval ? h('div', { class: 'muted small' }, intervalText(ev.interval)) : null,
      )
    : '—';

/** What the program answered for a row, columns in label order with errors last. */
function answersOf(confusion) {
  const labels = Object.keys(confusion).sort();
  const answers = new Set(labels);
  for (const row of Object.values(confusion)) for (const a of Object.keys(row)) answers.add(a);
  return [...answers].sort((a, b) => (a === '(error)') - (b === '(error)') || (a < b ? -1 : a > b ? 1 : 0));
}

/** The confusion matrix: one row per label, one column per answer, the right answers on the diagonal. */
export function confusionMatrix(ev, caption = 'Confusion matrix') {
  const confusion = ev?.confusion;
  if (!confusion || !Object.keys(confusion).length) {
    return empty('No confusion matrix: this score does not have one (too many classes, or none recorded).');
  }
  const labels = Object.keys(confusion).sort();
  const columns = [
    { label: 'Label ↓ · answer →', cell: (label) => h('strong', {}, label) },
    ...answersOf(confusion).map((answer) => ({
      label: answer,
      class: 'num',
      cell: (label) => {
        const count = confusion[label][answer] ?? 0;
        const kind = label === answer ? 'cm-hit' : count ? 'cm-miss' : 'cm-zero';
        return h(
          'span',
          { class: `cm-cell ${kind}`, title: `label ${label}, answered ${answer}: ${count}` },
          num(count),
        );
      },
    })),
  ];
  return h(
    'figure',
    { class: 'confusion' },
    h('figcaption', {}, caption),
    table(columns, labels, { caption }),
    h('p', { class: 'muted small' }, 'Rows are the labels, columns what the program answered.'),
  );
}

/** Precision, recall and support per class. */
function perClass(ev) {
  const rows = Object.entries(ev?.per_class ?? {});
  if (!rows.length) return null;
  return table(
    [
      { label: 'Class', cell: ([c]) => c },
      { label: 'Precision', class: 'num', cell: ([, r]) => pct(r.precision) },
      { label: 'Recall', class: 'num', cell: ([, r]) => pct(r.recall) },
      { label: 'Support', class: 'num', cell: ([, r]) => num(r.support) },
    ],
    rows,
    { caption: 'Per class' },
  );
}

/**
 * A version's score in full: accuracy with its interval, how it was measured, the confusion matrix and the
 * per-class figures. `version` names it in the captions.
 */
export function evalView(ev, version) {
  if (!ev) return empty(`${version} has no score: it was not measured on labelled rows.`);
  return h(
    'div',
    { class: 'eval-view' },
    h(
      'div',
      { class: 'stats' },
      stat('Accuracy', pct(ev.accuracy), ev.interval ? intervalText(ev.interval) : 'no interval recorded'),
      stat(
        'Scored on',
        `${num(ev.n)} rows`,
        joinParts(ev.method, ev.estimates && `estimates the ${ev.estimates}`),
      ),
    ),
    confusionMatrix(ev, `Confusion matrix of ${version}`),
    perClass(ev),
  );
}
