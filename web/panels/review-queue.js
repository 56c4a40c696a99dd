// The review queue: sampled executions waiting for the oracle or a person; a person's answer is recorded as the
// expected output. "Run validation" runs a validation pass now.
import { api, settle } from '../api.js';
import { brief, fill, h, isNum, joinParts, num, pct, pretty, time } from '../dom.js';
import { answerControl } from '../schema.js';
import { actionError, busy, empty, formSubmit, listPanel, pre, toast } from '../ui.js';

export function reviewPanel(page) {
  const count = h('span', { class: 'count', id: 'review-count' });
  /** How many samples wait, of which the list shows the oldest. */
  let total = 0;
  const showCount = () => fill(count, `${num(total)} waiting`);

  const nothing = () => {
    const rate = page.app.sampling?.rate;
    return empty(
      h('strong', {}, 'Nothing waiting for review. '),
      rate === 0
        ? 'Sampling is off (sampling.rate is 0): set a rate in the settings to pick executions for checking.'
        : `Sampled executions (${pct(rate, 1)} of calls, ${page.app.sampling?.strategy ?? 'random'}) appear here once validation has read the execution log.`,
    );
  };

  /** One sample with the form for its correct answer; an answer sent takes it off the list. */
  const sampleItem = (s, list) => {
    const controlId = `answer-${s.execution_id}`;
    const control = answerControl(page.app.output_schema, s.output, controlId);
    const message = h('div');
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Submit answer');
    const send = formSubmit({
      read: control.read,
      invalid: (err) => err.message,
      message,
      button: submit,
      busyText: 'Sending…',
      send: async (expected) => {
        const r = await settle(api.feedback(page.id, s.execution_id, expected));
        if (r.error) return fill(message, actionError(r.error, 'Sending the answer'));
        item.remove();
        total = Math.max(0, total - 1);
        showCount();
        if (!list.children.length) fill(queue.body, nothing());
        toast(
          r.data.correct
            ? 'Recorded: the program was right'
            : 'Recorded: the program was wrong; your answer is now a labelled example',
        );
        page.load('disagreements', 'analytics');
      },
    });
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
        { class: 'answer-form', onsubmit: send },
        h('label', { for: controlId }, 'Correct answer'),
        control.element,
        submit,
      ),
      message,
    );
    return item;
  };

  const render = (pending) => {
    const list = h('ul', { class: 'review-list' });
    for (const s of pending) list.append(sampleItem(s, list));
    return [
      list,
      total > pending.length
        ? h('p', { class: 'muted small' }, `Showing the oldest ${pending.length} of ${num(total)}.`)
        : null,
    ];
  };

  const runValidation = (e) =>
    busy(e.currentTarget, 'Validating…', async () => {
      const r = await settle(api.validate(page.id));
      if (r.error) {
        fill(queue.body, actionError(r.error, 'Validation'));
        return toast(`Validation failed: ${r.error.message}`, 'bad');
      }
      const rep = r.data;
      toast(
        `Validation: ${num(rep.ingested)} executions read, ${num(rep.validated)} checked (${num(rep.correct)} right), ${num(rep.pending)} waiting`,
        rep.failed ? 'warn' : 'good',
      );
      await page.load('review', 'analytics', 'disagreements', 'events');
    });

  const validation = page.app.validation;
  const queue = listPanel({
    title: 'Review queue',
    id: 'review',
    actions: [
      count,
      h('button', { type: 'button', class: 'btn btn-small', onclick: runValidation }, 'Run validation'),
    ],
    refresh: 'review queue',
    description:
      validation?.oracle === 'human'
        ? 'Sampled executions wait here for a person. Your answer is recorded as the expected output and becomes a labelled example.'
        : `Sampled executions wait here for the ${validation?.oracle ?? ''} oracle (schedule ${validation?.schedule ?? '—'}). You can answer them yourself too.`,
    request: () => api.reviewQueue(page.id, 25),
    what: 'the review queue',
    seen: ({ data }) => {
      if (!data) return fill(count);
      total = data.total ?? data.pending.length;
      showCount();
    },
    pick: (data) => data.pending,
    none: nothing,
    render,
  });
  return queue;
}
