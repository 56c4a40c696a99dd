// The app's numbers from GET /loop-apps/{id}/analytics: the stat tiles over the panels, and the Trends panel's
// charts of accuracy, executions and latency per day.
import { byDay, versionsOf } from '../analytics.js';
import { api, settle } from '../api.js';
import { chart, PALETTE } from '../charts.js';
import { fill, h, isNum, joinParts, money, ms, num, pct, time } from '../dom.js';
import { empty, errorBox, loading, panel, stat } from '../ui.js';

const card = (title, body, note) =>
  h(
    'figure',
    { class: 'chart-card' },
    h('figcaption', {}, title),
    body,
    note ? h('p', { class: 'muted small' }, note) : null,
  );

const statTiles = (app, summary) => [
  stat(
    'Active version',
    app.active_version ?? '—',
    app.serving_version === app.active_version
      ? 'serving'
      : `on disk; serving ${app.serving_version ?? 'nothing'}`,
  ),
  stat(
    'Live accuracy',
    pct(summary.accuracy),
    isNum(summary.accuracy)
      ? joinParts(
          summary.accuracy_ci &&
            `95 % CI ${pct(summary.accuracy_ci[0], 0)}–${pct(summary.accuracy_ci[1], 0)}`,
          `${num(summary.accuracy_window)} checked`,
          summary.validated_at && `as of ${time(summary.validated_at)}`,
        )
      : 'no validated samples yet',
  ),
  stat('Held-out accuracy', pct(app.accuracy), 'of the active version when it was made'),
  stat(
    'Executions',
    num(summary.executions),
    isNum(summary.errors) ? `${num(summary.errors)} errors, live` : 'live',
  ),
  stat('Waiting for review', num(summary.pending), 'sampled, not yet checked'),
  stat(
    'Estimated savings',
    money(summary.estimated_savings),
    isNum(summary.oracle_share) ? `${pct(summary.oracle_share)} of calls went to the oracle` : null,
  ),
];

/** The three chart cards for the rows of the analytics (one per day and version). */
function chartCards(rows, summary) {
  const daily = byDay(rows);
  const labels = daily.map((d) => d.day);
  const versions = versionsOf(rows);
  const perVersion = (key) =>
    versions.map((v, i) => ({
      label: v,
      color: PALETTE[i % PALETTE.length],
      data: daily.map((d) => d.versions[v]?.[key] ?? null),
    }));
  const hasAccuracy = daily.some((d) => d.validations > 0);
  return [
    card(
      'Accuracy per day',
      hasAccuracy
        ? chart({
            labels,
            datasets: perVersion('accuracy'),
            format: (v) => pct(v, 0),
            min: 0,
            max: 1,
            summary: `Accuracy per day by version; latest ${pct(daily.filter((d) => isNum(d.accuracy)).at(-1)?.accuracy)}`,
          })
        : empty(
            'No validated samples yet. Accuracy shows once sampled executions have been checked by the oracle or answered in the review queue.',
          ),
      hasAccuracy ? 'Share of checked samples where the program agreed with the oracle.' : null,
    ),
    card(
      'Executions per day',
      chart({
        type: 'bar',
        labels,
        datasets: perVersion('executions').map((d) => ({
          ...d,
          data: d.data.map((x) => x ?? 0),
          borderWidth: 0,
        })),
        stacked: true,
        counts: true,
        format: (v) => num(v),
        summary: `Executions per day; ${num(summary.executions)} in all`,
      }),
    ),
    card(
      'Latency per day',
      chart({
        labels,
        datasets: [
          { label: 'p50', data: daily.map((d) => d.p50), color: PALETTE[1] },
          { label: 'p95', data: daily.map((d) => d.p95), color: PALETTE[2] },
          { label: 'p99', data: daily.map((d) => d.p99), color: PALETTE[4] },
        ],
        format: ms,
        summary: `Latency percentiles per day; latest p50 ${ms(daily.at(-1).p50)}, p99 ${ms(daily.at(-1).p99)}`,
      }),
      versions.length > 1
        ? 'Where two versions served on one day, the higher of their values (an upper bound).'
        : null,
    ),
  ];
}

export function trendsPanel(page) {
  const tiles = h('div', { class: 'stats' });
  const charts = h('div', { class: 'charts' }, loading('Loading analytics'));
  const load = async () => {
    const result = await settle(api.analytics(page.id));
    const summary = result.data?.summary ?? {};
    fill(tiles, statTiles(page.app, summary));
    if (result.error) return fill(charts, errorBox(result.error, 'analytics'));
    const rows = result.data.days ?? [];
    if (!rows.length) {
      return fill(
        charts,
        empty(
          h('strong', {}, 'No analytics yet. '),
          'Charts appear once the app has executed: try it below, or send traffic to ',
          h('code', {}, `POST ${page.app.endpoint}`),
          '. Numbers are collected when validation runs (on its schedule, or with “Run validation”).',
        ),
      );
    }
    fill(charts, chartCards(rows, summary));
  };
  const element = panel({ title: 'Trends', id: 'trends', wide: true }, charts);
  return { tiles, element, load };
}
