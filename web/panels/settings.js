// Settings (config.yaml): shown readably, and editable as JSON that is sent as PATCH /loop-apps/{id}.
import { api, settle } from '../api.js';
import { fill, h, joinParts, num, pct, pretty } from '../dom.js';
import { actionError, formSubmit, panel, pre, toast } from '../ui.js';

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

const when = (value, text) => (value === undefined || value === null ? null : text);

const schemaRow = (label, schema) => [
  label,
  h('details', {}, h('summary', {}, 'show'), pre(pretty(schema), label)),
];

/** The settings as a definition list: `[term, value]` rows, those without a value left out. */
function readable(s) {
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
    ['Rollout', s.rollout?.candidate ? `${s.rollout.percent} % of calls to ${s.rollout.candidate}` : 'none'],
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
    schemaRow('Input schema', s.input_schema),
    schemaRow('Output schema', s.output_schema),
  ];
  return h(
    'dl',
    { class: 'settings' },
    rows
      .filter(([, value]) => value !== null && value !== undefined && value !== '')
      .map(([k, value]) => [h('dt', {}, k), h('dd', {}, value)]),
  );
}

export function settingsPanel(page) {
  const body = h('div');

  /** The JSON editor of the settings; saving shows the app as the server answers it. */
  const editor = () => {
    const s = page.app;
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
    const submit = formSubmit({
      read: () => JSON.parse(area.value),
      invalid: (err) => `The settings are not valid JSON: ${err.message}`,
      message,
      button: save,
      busyText: 'Saving…',
      send: async (patch) => {
        const r = await settle(api.patchApp(page.id, patch));
        if (r.error) return fill(message, actionError(r.error, 'Saving the settings'));
        toast('Settings saved to config.yaml');
        page.show(r.data);
      },
    });
    return h(
      'form',
      { onsubmit: submit },
      h('label', { for: 'settings-editor' }, 'Settings (JSON; saved into config.yaml)'),
      area,
      message,
      h(
        'div',
        { class: 'form-row' },
        save,
        h(
          'button',
          { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => render(false) },
          'Cancel',
        ),
      ),
    );
  };

  const render = (editing = false) => {
    if (editing) return fill(body, editor());
    fill(
      body,
      readable(page.app),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => render(true) }, 'Edit settings'),
    );
  };

  const element = panel(
    {
      title: 'Settings',
      id: 'settings',
      description: 'From config.yaml; edits are written there and reloaded at once.',
    },
    body,
  );
  return { element, render };
}
