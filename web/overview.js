// The overview: every Loop App with its status, version, accuracy trend, traffic and savings.
import { api, settle } from './api.js';
import { sparkline, PALETTE } from './charts.js';
import { brief, fill, h, isNum, money, num, pct } from './dom.js';
import { badge, empty, errorBox, loading, stat, table } from './ui.js';
import { byDay } from './analytics.js';
import { intervalText } from './scores.js';

const newAppLink = () =>
  h('a', { href: '#/new', class: 'btn btn-primary', id: 'new-app-link' }, 'New Loop App');

export async function renderOverview(root) {
  const tiles = h('div', { class: 'stats' });
  const body = h('div', {}, loading('Loading Loop Apps'));
  fill(
    root,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', {}, 'Loop Apps'),
        h('p', { class: 'muted' }, 'Every Loop App on this server, with how well and how often it answers.'),
      ),
      h('div', { class: 'head-actions' }, newAppLink()),
    ),
    tiles,
    body,
  );

  const { data, error } = await settle(api.listApps());
  if (error) return fill(body, errorBox(error, 'the Loop Apps'));
  const apps = data.loop_apps ?? [];
  const loadErrors = Object.entries(data.load_errors ?? {});

  const totals = { executions: 0, savings: 0, known: 0 };
  const counts = (status) => apps.filter((a) => a.status === status).length;
  const renderTiles = () =>
    fill(
      tiles,
      stat(
        'Loop Apps',
        num(apps.length),
        `${counts('active')} active · ${counts('paused')} paused · ${counts('archived')} archived`,
      ),
      stat('Executions', totals.known ? num(totals.executions) : '—', 'all days on record'),
      stat('Estimated savings', totals.known ? money(totals.savings) : '—', 'oracle calls not made'),
      stat('Load errors', num(loadErrors.length), loadErrors.length ? 'see below' : 'all apps loaded'),
    );
  renderTiles();

  const parts = [];
  if (loadErrors.length) {
    parts.push(
      h(
        'div',
        { class: 'alert alert-error', role: 'alert' },
        h(
          'strong',
          {},
          `${loadErrors.length === 1 ? 'A Loop App folder does' : 'Some Loop App folders do'} not load. `,
        ),
        'The last good state keeps serving where there is one; fix the files and they are picked up.',
        h(
          'ul',
          { class: 'load-errors' },
          loadErrors.map(([id, message]) => h('li', {}, h('code', {}, id), ': ', message)),
        ),
      ),
    );
  }
  if (!apps.length) {
    parts.push(
      empty(
        h('strong', {}, 'No Loop Apps yet. '),
        h('a', { href: '#/new' }, 'Create one here'),
        ' from labelled examples, or with ',
        h('code', {}, 'POST /loop-apps'),
        ' (a task, input and output schemas, and labelled examples), or put an app folder under ',
        h('code', {}, 'loop-apps/'),
        ' in the data directory: it is picked up without a restart.',
      ),
    );
    return fill(body, parts);
  }

  // the analytics cells fill in as each app's analytics arrive
  const cells = new Map(
    apps.map((a) => [
      a.loop_app_id,
      {
        accuracy: h('span', {}, '…'),
        trend: h('span', { class: 'muted' }, '…'),
        traffic: h('span', { class: 'muted' }, '…'),
        savings: h('span', { class: 'muted' }, '…'),
      },
    ]),
  );
  parts.push(
    table(
      [
        {
          label: 'Loop App',
          cell: (a) =>
            h(
              'div',
              { class: 'app-cell' },
              h(
                'a',
                { href: `#/apps/${encodeURIComponent(a.loop_app_id)}`, class: 'app-link' },
                a.name || a.loop_app_id,
              ),
              h('div', { class: 'muted small' }, h('code', {}, a.loop_app_id), ' · ', brief(a.task, 70)),
              a.load_error
                ? h('div', { class: 'cell-error' }, `Load error: ${brief(a.load_error, 160)}`)
                : null,
            ),
        },
        { label: 'Status', cell: (a) => badge(a.status) },
        {
          label: 'Active version',
          cell: (a) =>
            h(
              'span',
              {},
              a.active_version ?? '—',
              a.serving_version && a.serving_version !== a.active_version
                ? h('div', { class: 'muted small' }, `serving ${a.serving_version}`)
                : null,
            ),
        },
        { label: 'Accuracy', cell: (a) => cells.get(a.loop_app_id).accuracy },
        { label: 'Accuracy per day', cell: (a) => cells.get(a.loop_app_id).trend },
        { label: 'Executions per day', cell: (a) => cells.get(a.loop_app_id).traffic },
        { label: 'Est. savings', class: 'num', cell: (a) => cells.get(a.loop_app_id).savings },
      ],
      apps,
      { caption: 'Loop Apps', rowClass: (a) => (a.load_error ? 'row-error' : null) },
    ),
  );
  fill(body, parts);

  await Promise.all(
    apps.map(async (a) => {
      const c = cells.get(a.loop_app_id);
      // the served version's score, with its interval: alone, or under the live accuracy
      const interval = a.score?.interval ? `, ${intervalText(a.score.interval)}` : '';
      const heldOut = isNum(a.accuracy)
        ? [pct(a.accuracy), h('div', { class: 'muted small' }, `held-out${interval}`)]
        : '—';
      const heldOutLine = isNum(a.accuracy)
        ? h('div', { class: 'muted small' }, `held-out ${pct(a.accuracy)}${interval}`)
        : null;
      const result = await settle(api.analytics(a.loop_app_id));
      if (result.error) {
        // said once per row, in full on hover; the other cells stay quiet
        const { notAvailable, message } = result.error;
        fill(c.accuracy, heldOut);
        fill(
          c.trend,
          notAvailable
            ? h('span', { class: 'muted small', title: message }, 'analytics not available')
            : h('span', { class: 'cell-error small' }, `analytics failed: ${message}`),
        );
        fill(c.traffic, h('span', { class: 'muted', title: result.error.message }, '—'));
        fill(c.savings, h('span', { class: 'muted', title: result.error.message }, '—'));
        return;
      }
      const { days, summary } = { days: [], summary: {}, ...result.data };
      const daily = byDay(days);
      totals.known += 1;
      totals.executions += summary.executions ?? 0;
      totals.savings += summary.estimated_savings ?? 0;
      renderTiles();

      fill(
        c.accuracy,
        isNum(summary.accuracy)
          ? [
              h('strong', {}, pct(summary.accuracy)),
              h('div', { class: 'muted small' }, `live, ${num(summary.accuracy_window)} checked`),
              heldOutLine,
            ]
          : heldOut,
      );
      const accuracy = daily.map((d) => d.accuracy);
      fill(
        c.trend,
        accuracy.some(isNum)
          ? sparkline(accuracy, {
              summary: `Accuracy per day, last ${pct(accuracy.filter(isNum).at(-1))}`,
              color: PALETTE[1],
              min: 0,
              max: 1,
            })
          : h('span', { class: 'muted small' }, days.length ? 'no validations yet' : 'no data yet'),
      );
      const executions = daily.map((d) => d.executions);
      fill(
        c.traffic,
        executions.length
          ? h(
              'span',
              { class: 'spark-row' },
              sparkline(executions, {
                summary: `Executions per day, latest day ${num(executions.at(-1))}`,
                type: 'bar',
              }),
              h('span', { class: 'small' }, num(summary.executions)),
            )
          : h('span', { class: 'muted small' }, 'no executions yet'),
      );
      fill(c.savings, money(summary.estimated_savings));
    }),
  );
}
