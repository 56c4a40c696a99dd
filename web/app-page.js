// One Loop App: trends, versions (activate, roll back), a try-it box, the review queue, recent executions,
// disagreements with the oracle, events and settings. Each panel loads on its own, so one failing endpoint
// shows its error in its panel and the rest of the page still works.
import { byDay, versionsOf } from './analytics.js';
import { api, settle } from './api.js';
import { chart, PALETTE } from './charts.js';
import { brief, fill, h, isNum, money, ms, num, pct, pretty, time } from './dom.js';
import { answerControl, sampleFromSchema } from './schema.js';
import { actionError, badge, busy, empty, errorBox, loading, panel, pre, stat, table, toast } from './ui.js';

/** Settings that PATCH /loop-apps/{id} takes. */
const EDITABLE = [
  'name',
  'task',
  'status',
  'generator',
  'sampling',
  'validation',
  'improvement',
  'rollout',
  'privacy',
  'retention_days',
  'execution',
];

/** The execution log is flushed every ~200 ms: wait a little before reading back what was just executed. */
const LOG_FLUSH_WAIT_MS = 400;

const joinParts = (...parts) => parts.filter((p) => p !== null && p !== undefined && p !== false).join(' · ');
const when = (value, text) => (value === undefined || value === null ? null : text);
const backLink = () => h('a', { href: '#/', class: 'back' }, '← All Loop Apps');

/**
 * Fills a panel with a list from the API: the API's error, an empty state that says what to do, or the rows as
 * `render` draws them.
 */
async function loadList(body, request, what, pick, emptyState, render) {
  const result = await settle(request());
  if (result.error) return fill(body, errorBox(result.error, what));
  const rows = pick(result.data) ?? [];
  fill(body, rows.length ? render(rows) : emptyState());
}

export async function renderAppPage(root, id) {
  fill(root, backLink(), loading(`Loading ${id}`));
  const first = await settle(api.app(id));
  if (first.error) {
    return fill(root, backLink(), h('h1', {}, id), errorBox(first.error, `the Loop App “${id}”`));
  }
  let app = first.data;

  const head = h('div', { class: 'page-head' });
  const loadError = h('div');
  const tiles = h('div', { class: 'stats' });
  const charts = h('div', { class: 'charts' }, loading('Loading analytics'));
  const versionsMessage = h('div');
  const versionsBody = h('div', {}, loading());
  const tryBody = h('div');
  const reviewBody = h('div', {}, loading());
  const executionsBody = h('div', {}, loading());
  const disagreementsBody = h('div', {}, loading());
  const eventsBody = h('div', {}, loading());
  const settingsBody = h('div');
  const refreshButton = (what, load) =>
    h(
      'button',
      { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Refresh ${what}`, onclick: load },
      'Refresh',
    );

  // ---- header, load error, settings: from GET /loop-apps/{id}
  const renderHead = () => {
    const paused = app.status !== 'active';
    fill(
      head,
      h(
        'div',
        {},
        h('h1', {}, app.name || app.loop_app_id, ' ', badge(app.status)),
        h('p', { class: 'muted' }, h('code', {}, app.loop_app_id), ' · ', app.task),
      ),
      h(
        'div',
        { class: 'head-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn',
            onclick: (e) =>
              busy(e.currentTarget, paused ? 'Resuming…' : 'Pausing…', async () => {
                const result = await settle(api.setStatus(id, paused ? 'resume' : 'pause'));
                if (result.error)
                  return fill(loadError, actionError(result.error, paused ? 'Resume' : 'Pause'));
                app = result.data;
                toast(paused ? 'Resumed: the app answers again' : 'Paused: execute now answers 503');
                renderApp();
              }),
          },
          paused ? 'Resume' : 'Pause',
        ),
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => loadAll() }, 'Refresh all'),
      ),
    );
    fill(
      loadError,
      app.load_error
        ? h(
            'div',
            { class: 'alert alert-error', role: 'alert' },
            h('strong', {}, 'The files on disk do not load. '),
            app.serving_version ? `${app.serving_version} keeps serving. ` : '',
            app.load_error,
          )
        : null,
    );
  };

  const refreshApp = async () => {
    const result = await settle(api.app(id));
    if (result.error) return fill(loadError, errorBox(result.error, 'the Loop App'));
    app = result.data;
    renderApp();
  };

  // ---- analytics: tiles and charts
  const loadAnalytics = async () => {
    const result = await settle(api.analytics(id));
    const summary = result.data?.summary ?? {};
    fill(
      tiles,
      stat(
        'Active version',
        app.current_version ?? '—',
        app.serving_version === app.current_version
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
            )
          : 'no validated samples yet',
      ),
      stat('Held-out accuracy', pct(app.accuracy), 'of the active version when it was made'),
      stat(
        'Executions',
        num(summary.executions),
        isNum(summary.errors) ? `${num(summary.errors)} errors` : null,
      ),
      stat('Waiting for review', num(summary.pending), 'sampled, not yet checked'),
      stat(
        'Estimated savings',
        money(summary.estimated_savings),
        isNum(summary.oracle_share) ? `${pct(summary.oracle_share)} of calls went to the oracle` : null,
      ),
    );
    if (result.error) return fill(charts, errorBox(result.error, 'analytics'));
    const rows = result.data.days ?? [];
    if (!rows.length) {
      return fill(
        charts,
        empty(
          h('strong', {}, 'No analytics yet. '),
          'Charts appear once the app has executed: try it below, or send traffic to ',
          h('code', {}, `POST ${app.endpoint}`),
          '. Numbers are collected when validation runs (on its schedule, or with “Run validation”).',
        ),
      );
    }
    const daily = byDay(rows);
    const labels = daily.map((d) => d.day);
    const versions = versionsOf(rows);
    const perVersion = (key) =>
      versions.map((v, i) => ({
        label: v,
        color: PALETTE[i % PALETTE.length],
        data: daily.map((d) => d.versions[v]?.[key] ?? null),
      }));
    const accuracy = perVersion('accuracy');
    const hasAccuracy = daily.some((d) => d.validations > 0);
    const card = (title, body, note) =>
      h(
        'figure',
        { class: 'chart-card' },
        h('figcaption', {}, title),
        body,
        note ? h('p', { class: 'muted small' }, note) : null,
      );
    fill(
      charts,
      card(
        'Accuracy per day',
        hasAccuracy
          ? chart({
              labels,
              datasets: accuracy,
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
    );
  };

  // ---- versions
  const loadVersions = async () => {
    const result = await settle(api.versions(id));
    if (result.error) return fill(versionsBody, errorBox(result.error, 'the versions'));
    const versions = [...(result.data.versions ?? [])].reverse();
    if (!versions.length)
      return fill(
        versionsBody,
        empty(
          'No versions yet. A version is made when the app is created from examples, or uploaded with ',
          h('code', {}, `POST /loop-apps/${id}/versions`),
          '.',
        ),
      );
    const activate = (v) => (e) =>
      busy(e.currentTarget, 'Activating…', async () => {
        const r = await settle(api.activate(id, v.version));
        if (r.error) {
          fill(versionsMessage, actionError(r.error, `Activating ${v.version}`));
          return toast(`Activating ${v.version} failed: ${r.error.message}`, 'bad');
        }
        fill(versionsMessage);
        toast(`${v.version} is now active`);
        // the table marks the current version from the app, so the app is read first
        await refreshApp();
        await Promise.all([loadVersions(), loadEvents(), loadAnalytics()]);
      });
    fill(
      versionsBody,
      table(
        [
          {
            label: 'Version',
            cell: (v) =>
              h(
                'span',
                {},
                h('strong', {}, v.version),
                v.version === app.current_version ? h('span', { class: 'muted small' }, ' current') : null,
              ),
          },
          { label: 'Status', cell: (v) => badge(v.status) },
          { label: 'Accuracy', class: 'num', cell: (v) => (v.eval ? pct(v.eval.accuracy) : '—') },
          { label: 'n', class: 'num', cell: (v) => num(v.eval?.n) },
          { label: 'Method', cell: (v) => v.eval?.method ?? '—' },
          { label: 'Generator', cell: (v) => v.generator ?? '—' },
          { label: 'Trained on', class: 'num', cell: (v) => num(v.trained_on) },
          { label: 'Created', cell: (v) => time(v.created_at) },
          {
            label: 'Notes',
            cell: (v) =>
              h(
                'span',
                { class: 'small' },
                joinParts(
                  v.compared_with &&
                    `vs ${v.compared_with.version}: ${pct(v.compared_with.accuracy)} on the same rows`,
                  v.parent && `from ${v.parent}`,
                  v.notes,
                ) || '—',
              ),
          },
          {
            label: 'Action',
            cell: (v) =>
              v.version === app.current_version
                ? h('span', { class: 'muted small' }, 'serving')
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'btn btn-small',
                      'aria-label': `Activate ${v.version}`,
                      onclick: activate(v),
                    },
                    'Activate',
                  ),
          },
        ],
        versions,
        { caption: 'Versions', rowClass: (v) => (v.version === app.current_version ? 'row-current' : null) },
      ),
    );
  };

  const rollback = (e) =>
    busy(e.currentTarget, 'Rolling back…', async () => {
      const r = await settle(api.rollback(id));
      if (r.error) {
        fill(versionsMessage, actionError(r.error, 'Rollback'));
        return toast(`Rollback failed: ${r.error.message}`, 'bad');
      }
      fill(versionsMessage);
      toast(`Rolled back: ${r.data.version} is active again`);
      // the table marks the current version from the app, so the app is read first
      await refreshApp();
      await Promise.all([loadVersions(), loadEvents(), loadAnalytics()]);
    });

  // ---- try it
  const renderTry = () => {
    const sample = () => pretty(sampleFromSchema(app.input_schema) ?? {});
    const input = h('textarea', {
      id: 'try-input',
      rows: 8,
      spellcheck: 'false',
      class: 'code-input',
      value: sample(),
    });
    const result = h('div', { id: 'try-result', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Execute');
    const run = async (e) => {
      e.preventDefault();
      let value;
      try {
        value = JSON.parse(input.value);
      } catch (err) {
        return fill(
          result,
          h(
            'div',
            { class: 'alert alert-error', role: 'alert' },
            h('strong', {}, 'The input is not valid JSON: '),
            err.message,
          ),
        );
      }
      await busy(submit, 'Executing…', async () => {
        const r = await settle(api.execute(id, value));
        if (r.error) return fill(result, actionError(r.error, 'Execute'));
        const out = r.data;
        fill(
          result,
          h(
            'div',
            { class: 'result' },
            h('div', { class: 'result-label' }, 'Output'),
            h('pre', { class: 'json try-output', tabindex: '0' }, pretty(out.output)),
            h(
              'dl',
              { class: 'facts' },
              h('dt', {}, 'Confidence'),
              h('dd', {}, isNum(out.confidence) ? out.confidence.toFixed(3) : '—'),
              h('dt', {}, 'Version'),
              h('dd', { class: 'try-version' }, out.version),
              h('dt', {}, 'Latency'),
              h('dd', {}, ms(out.latency_ms)),
              h('dt', {}, 'Sampled'),
              h('dd', {}, out.sampled ? 'yes: queued for checking' : 'no'),
              h('dt', {}, 'Execution id'),
              h('dd', {}, h('code', { class: 'try-execution-id' }, out.execution_id)),
            ),
          ),
        );
        setTimeout(() => {
          loadExecutions();
          if (out.sampled) loadReview();
        }, LOG_FLUSH_WAIT_MS);
      });
    };
    fill(
      tryBody,
      h(
        'form',
        { class: 'try-form', onsubmit: run },
        h('label', { for: 'try-input' }, 'Input (JSON)'),
        input,
        h(
          'div',
          { class: 'form-row' },
          submit,
          h(
            'button',
            { type: 'button', class: 'btn btn-ghost', onclick: () => (input.value = sample()) },
            'Reset to a blank input',
          ),
        ),
      ),
      result,
    );
  };

  // ---- review queue
  const reviewCount = h('span', { class: 'count', id: 'review-count' });
  const loadReview = async () => {
    const result = await settle(api.reviewQueue(id, 25));
    fill(reviewCount);
    if (result.error) return fill(reviewBody, errorBox(result.error, 'the review queue'));
    let total = result.data.total ?? result.data.pending.length;
    const setCount = () => fill(reviewCount, `${num(total)} waiting`);
    setCount();
    const nothing = () => {
      const rate = app.sampling?.rate;
      return empty(
        h('strong', {}, 'Nothing waiting for review. '),
        rate === 0
          ? 'Sampling is off (sampling.rate is 0): set a rate in the settings to pick executions for checking.'
          : `Sampled executions (${pct(rate, 1)} of calls, ${app.sampling?.strategy ?? 'random'}) appear here once validation has read the execution log.`,
      );
    };
    const pending = result.data.pending ?? [];
    if (!pending.length) return fill(reviewBody, nothing());
    const list = h('ul', { class: 'review-list' });
    for (const s of pending) {
      const controlId = `answer-${s.execution_id}`;
      const control = answerControl(app.output_schema, s.output, controlId);
      const message = h('div');
      const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Submit answer');
      const item = h(
        'li',
        { class: 'review-item', dataset: { executionId: s.execution_id } },
        h(
          'div',
          { class: 'muted small' },
          joinParts(
            time(s.ts),
            s.version,
            s.sample_rule && `picked by ${s.sample_rule}`,
            isNum(s.confidence) && `confidence ${s.confidence.toFixed(3)}`,
          ),
        ),
        h('div', { class: 'result-label' }, 'Input'),
        pre(pretty(s.input), 'Input'),
        h('div', { class: 'small' }, 'The program answered ', h('code', {}, brief(s.output))),
        s.last_error ? h('div', { class: 'cell-error small' }, `Last oracle error: ${s.last_error}`) : null,
        h(
          'form',
          {
            class: 'answer-form',
            onsubmit: async (e) => {
              e.preventDefault();
              let expected;
              try {
                expected = control.read();
              } catch (err) {
                return fill(message, h('div', { class: 'alert alert-error', role: 'alert' }, err.message));
              }
              await busy(submit, 'Sending…', async () => {
                const r = await settle(api.feedback(id, s.execution_id, expected));
                if (r.error) return fill(message, actionError(r.error, 'Sending the answer'));
                item.remove();
                total = Math.max(0, total - 1);
                setCount();
                if (!list.children.length) fill(reviewBody, nothing());
                toast(
                  r.data.correct
                    ? 'Recorded: the program was right'
                    : 'Recorded: the program was wrong; your answer is now a labelled example',
                );
                loadDisagreements();
                loadAnalytics();
              });
            },
          },
          h('label', { for: controlId }, 'Correct answer'),
          control.element,
          submit,
        ),
        message,
      );
      list.append(item);
    }
    fill(
      reviewBody,
      list,
      total > pending.length
        ? h('p', { class: 'muted small' }, `Showing the oldest ${pending.length} of ${num(total)}.`)
        : null,
    );
  };

  const runValidation = (e) =>
    busy(e.currentTarget, 'Validating…', async () => {
      const r = await settle(api.validate(id));
      if (r.error) {
        fill(reviewBody, actionError(r.error, 'Validation'));
        return toast(`Validation failed: ${r.error.message}`, 'bad');
      }
      const rep = r.data;
      toast(
        `Validation: ${num(rep.ingested)} executions read, ${num(rep.validated)} checked (${num(rep.correct)} right), ${num(rep.pending)} waiting`,
        rep.failed ? 'warn' : 'good',
      );
      await Promise.all([loadReview(), loadAnalytics(), loadDisagreements(), loadEvents()]);
    });

  // ---- recent executions
  const loadExecutions = () =>
    loadList(
      executionsBody,
      () => api.executions(id, 25),
      'the recent executions',
      (data) => data.executions,
      () =>
        empty('No executions yet. Try the app above, or call ', h('code', {}, `POST ${app.endpoint}`), '.'),
      (rows) =>
        table(
          [
            { label: 'Time', cell: (x) => time(x.ts) },
            { label: 'Version', cell: (x) => x.version },
            {
              label: 'Input',
              cell: (x) => h('code', { class: 'cell-json', title: brief(x.input, 2000) }, brief(x.input, 80)),
            },
            { label: 'Output', cell: (x) => h('code', { class: 'cell-json' }, brief(x.output, 60)) },
            {
              label: 'Confidence',
              class: 'num',
              cell: (x) => (isNum(x.confidence) ? x.confidence.toFixed(3) : '—'),
            },
            { label: 'Latency', class: 'num', cell: (x) => ms(x.latency_ms) },
            {
              label: 'Status',
              cell: (x) =>
                h(
                  'span',
                  {},
                  badge(x.status ?? 'ok', x.status === 'error' ? 'bad' : 'good'),
                  x.error ? h('div', { class: 'cell-error small' }, brief(x.error, 160)) : null,
                ),
            },
            { label: 'Sampled', cell: (x) => (x.sampled ? (x.sample_rule ?? 'yes') : '—') },
          ],
          rows,
          { caption: 'Recent executions, newest first' },
        ),
    );

  // ---- disagreements with the oracle
  const loadDisagreements = () =>
    loadList(
      disagreementsBody,
      () => api.disagreements(id, 25),
      'the validations',
      (data) => data.validations,
      () =>
        empty(
          'No disagreements recorded. Checked samples where the program and the oracle (or a reviewer) differ appear here.',
        ),
      (rows) =>
        table(
          [
            { label: 'Time', cell: (v) => time(v.ts) },
            { label: 'Version', cell: (v) => v.version },
            {
              label: 'Input',
              cell: (v) => h('code', { class: 'cell-json', title: brief(v.input, 2000) }, brief(v.input, 80)),
            },
            {
              label: 'Program said',
              cell: (v) => h('code', { class: 'cell-json' }, brief(v.program_output, 60)),
            },
            {
              label: 'Oracle said',
              cell: (v) => h('code', { class: 'cell-json' }, brief(v.oracle_output, 60)),
            },
            { label: 'Oracle', cell: (v) => v.oracle ?? '—' },
          ],
          rows,
          { caption: 'Disagreements with the oracle, newest first' },
        ),
    );

  // ---- events
  const loadEvents = () =>
    loadList(
      eventsBody,
      () => api.events(id, 25),
      'the events',
      (data) => data.events,
      () =>
        empty(
          'No events yet. Activations, rollbacks, validation runs, regenerations and promotions appear here.',
        ),
      (events) =>
        h(
          'ol',
          { class: 'events' },
          events.map((ev) => {
            const figures = Object.entries(ev).filter(
              ([k, v]) =>
                !['ts', 'type', 'loop_app_id', 'version', 'message'].includes(k) &&
                (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'),
            );
            return h(
              'li',
              {},
              h(
                'div',
                { class: 'event-head' },
                badge(ev.type, 'info'),
                ev.version ? h('span', { class: 'small' }, ev.version) : null,
                h('time', { class: 'muted small', datetime: ev.ts }, time(ev.ts)),
              ),
              h('div', {}, ev.message),
              figures.length
                ? h(
                    'div',
                    { class: 'muted small' },
                    figures.map(([k, v]) => `${k}: ${typeof v === 'number' ? num(v) : v}`).join(' · '),
                  )
                : null,
            );
          }),
        ),
    );

  // ---- settings (config.yaml), readable, and editable as JSON
  const renderSettings = (editing = false) => {
    const s = app;
    const v = s.validation ?? {};
    const imp = s.improvement ?? {};
    const rows = [
      ['Status', s.status],
      ['Generator', s.generator ?? 'server default'],
      ['Endpoint', h('code', {}, `POST ${s.endpoint}`)],
      ['Sampling', s.sampling && joinParts(`${pct(s.sampling.rate, 1)} of executions`, s.sampling.strategy)],
      [
        'Validation',
        joinParts(
          when(v.oracle, `oracle: ${v.oracle}`),
          when(v.schedule, `schedule ${v.schedule}`),
          when(v.min_samples, `at least ${v.min_samples} samples`),
          when(v.accuracy_threshold, `threshold ${pct(v.accuracy_threshold, 0)}`),
          when(v.window, `window ${num(v.window)}`),
          when(v.daily_oracle_cap, `at most ${num(v.daily_oracle_cap)} oracle calls a day`),
          when(v.cost_per_call, `$${v.cost_per_call} a call`),
          v.http?.url && `url ${v.http.url}`,
        ),
      ],
      [
        'Improvement',
        joinParts(
          when(imp.auto, imp.auto ? 'automatic' : 'manual only'),
          when(imp.promotion, `promotion: ${imp.promotion}`),
          when(imp.canary_percent, `canary ${imp.canary_percent} %`),
          when(imp.canary_min_samples, `canary needs ${imp.canary_min_samples} samples`),
          when(imp.rollback_margin, `rollback margin ${pct(imp.rollback_margin, 0)}`),
        ),
      ],
      [
        'Rollout',
        s.rollout?.candidate ? `${s.rollout.percent} % of calls to ${s.rollout.candidate}` : 'none',
      ],
      [
        'Privacy',
        s.privacy &&
          joinParts(
            `inputs stored: ${s.privacy.store_inputs}`,
            s.privacy.redact?.length ? `redacting ${s.privacy.redact.join(', ')}` : null,
          ),
      ],
      ['Retention', when(s.retention_days, `${s.retention_days} days`)],
      [
        'Execution limits',
        s.execution && joinParts(`${s.execution.timeout_ms} ms a call`, `${s.execution.memory_mb} MB`),
      ],
      [
        'Input schema',
        h('details', {}, h('summary', {}, 'show'), pre(pretty(s.input_schema), 'Input schema')),
      ],
      [
        'Output schema',
        h('details', {}, h('summary', {}, 'show'), pre(pretty(s.output_schema), 'Output schema')),
      ],
    ];
    const readable = h(
      'dl',
      { class: 'settings' },
      rows
        .filter(([, value]) => value !== null && value !== undefined && value !== '')
        .map(([k, value]) => [h('dt', {}, k), h('dd', {}, value)]),
    );
    if (!editing) {
      return fill(
        settingsBody,
        readable,
        h(
          'button',
          { type: 'button', class: 'btn btn-small', onclick: () => renderSettings(true) },
          'Edit settings',
        ),
      );
    }
    const editable = Object.fromEntries(EDITABLE.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
    const area = h('textarea', {
      id: 'settings-editor',
      rows: 18,
      spellcheck: 'false',
      class: 'code-input',
      value: pretty(editable),
    });
    const message = h('div');
    const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Save settings');
    fill(
      settingsBody,
      h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            let patch;
            try {
              patch = JSON.parse(area.value);
            } catch (err) {
              return fill(
                message,
                h(
                  'div',
                  { class: 'alert alert-error', role: 'alert' },
                  `The settings are not valid JSON: ${err.message}`,
                ),
              );
            }
            await busy(save, 'Saving…', async () => {
              const r = await settle(api.patchApp(id, patch));
              if (r.error) return fill(message, actionError(r.error, 'Saving the settings'));
              app = r.data;
              toast('Settings saved to config.yaml');
              renderApp();
            });
          },
        },
        h('label', { for: 'settings-editor' }, 'Settings (JSON; saved into config.yaml)'),
        area,
        message,
        h(
          'div',
          { class: 'form-row' },
          save,
          h(
            'button',
            { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => renderSettings(false) },
            'Cancel',
          ),
        ),
      ),
    );
  };

  const renderApp = () => {
    renderHead();
    renderSettings();
  };

  const loadAll = () => {
    refreshApp();
    return Promise.all([
      loadAnalytics(),
      loadVersions(),
      loadReview(),
      loadExecutions(),
      loadDisagreements(),
      loadEvents(),
    ]);
  };

  fill(
    root,
    backLink(),
    head,
    loadError,
    tiles,
    h(
      'div',
      { class: 'grid' },
      panel({ title: 'Trends', id: 'trends', wide: true }, charts),
      panel(
        {
          title: 'Versions',
          id: 'versions',
          wide: true,
          actions: [
            h('button', { type: 'button', class: 'btn btn-small', onclick: rollback }, 'Roll back'),
            refreshButton('versions', () => loadVersions()),
          ],
          description:
            'Every version with its held-out score. Activating checks that the version loads and answers, then switches to it; roll back returns to the version that was active before.',
        },
        versionsMessage,
        versionsBody,
      ),
      panel(
        {
          title: 'Try it',
          id: 'try',
          description:
            'Runs the active version (or the rollout candidate, for its share of calls) on an input of yours. The call is logged like any other.',
        },
        tryBody,
      ),
      panel(
        {
          title: 'Review queue',
          id: 'review',
          actions: [
            reviewCount,
            h('button', { type: 'button', class: 'btn btn-small', onclick: runValidation }, 'Run validation'),
            refreshButton('review queue', () => loadReview()),
          ],
          description:
            app.validation?.oracle === 'human'
              ? 'Sampled executions wait here for a person. Your answer is recorded as the expected output and becomes a labelled example.'
              : `Sampled executions wait here for the ${app.validation?.oracle ?? ''} oracle (schedule ${app.validation?.schedule ?? '—'}). You can answer them yourself too.`,
        },
        reviewBody,
      ),
      panel(
        {
          title: 'Recent executions',
          id: 'executions',
          wide: true,
          actions: [refreshButton('recent executions', () => loadExecutions())],
        },
        executionsBody,
      ),
      panel(
        {
          title: 'Disagreements',
          id: 'disagreements',
          wide: true,
          actions: [refreshButton('disagreements', () => loadDisagreements())],
          description: 'Checked samples where the oracle’s answer differed from the program’s.',
        },
        disagreementsBody,
      ),
      panel(
        { title: 'Events', id: 'events', actions: [refreshButton('events', () => loadEvents())] },
        eventsBody,
      ),
      panel(
        {
          title: 'Settings',
          id: 'settings',
          description: 'From config.yaml; edits are written there and reloaded at once.',
        },
        settingsBody,
      ),
    ),
  );
  renderApp();
  renderTry();
  await Promise.all([
    loadAnalytics(),
    loadVersions(),
    loadReview(),
    loadExecutions(),
    loadDisagreements(),
    loadEvents(),
  ]);
}
