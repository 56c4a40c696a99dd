// Try it: runs the app on an input of the reader's, and shows the answer with its version and execution id.
import { api, settle } from '../api.js';
import { fill, h, isNum, ms, pretty } from '../dom.js';
import { sampleFromSchema } from '../schema.js';
import { actionError, formSubmit, panel } from '../ui.js';

/** The execution log is flushed every ~200 ms: wait a little before reading back what was just executed. */
const LOG_FLUSH_WAIT_MS = 400;

const answer = (out) =>
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
  );

export function tryPanel(page) {
  const body = h('div');
  const render = () => {
    const sample = () => pretty(sampleFromSchema(page.app.input_schema) ?? {});
    const input = h('textarea', {
      id: 'try-input',
      rows: 8,
      spellcheck: 'false',
      class: 'code-input',
      value: sample(),
    });
    const result = h('div', { id: 'try-result', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Execute');
    const run = formSubmit({
      read: () => JSON.parse(input.value),
      invalid: (err) => [h('strong', {}, 'The input is not valid JSON: '), err.message],
      message: result,
      button: submit,
      busyText: 'Executing…',
      send: async (value) => {
        const r = await settle(api.execute(page.id, value));
        if (r.error) return fill(result, actionError(r.error, 'Execute'));
        fill(result, answer(r.data));
        setTimeout(() => {
          page.load('executions');
          if (r.data.sampled) page.load('review');
        }, LOG_FLUSH_WAIT_MS);
      },
    });
    fill(
      body,
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
  const element = panel(
    {
      title: 'Try it',
      id: 'try',
      description:
        'Runs the active version (or the rollout candidate, for its share of calls) on an input of yours. The call is logged like any other.',
    },
    body,
  );
  return { element, render };
}
