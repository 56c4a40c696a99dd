// Versions: every version with its score; activate one, roll back to the one before, mark one deprecated (or
// reinstate it), and start an improvement (a new version from the labelled rows), followed as a job.
import { api, settle } from '../api.js';
import { fill, h, joinParts, num, pct, time } from '../dom.js';
import { madeVersion, watchJob } from '../jobs.js';
import { accuracyCell } from '../scores.js';
import { actionError, badge, busy, empty, formSubmit, listPanel, toast } from '../ui.js';

const button = (text, props = {}) => h('button', { type: 'button', class: 'btn btn-small', ...props }, text);

export function versionsPanel(page) {
  const message = h('div', { id: 'versions-message', 'aria-live': 'polite' });
  const isCurrent = (v) => v.version === page.app.active_version;

  /** After a change: the table marks the current version from the app, so the app is read first. */
  const changed = async (text) => {
    fill(message);
    toast(text);
    await page.refreshApp();
    await page.load('versions', 'events', 'analytics', 'compare');
  };

  /**
   * Runs `request(force)` (an activation or a rollback); a deprecated target asks first, then goes again with
   * `force`. `step` is `{action, anyway, done(data) → toast}`.
   */
  const switchTo = (el, busyText, step, request) =>
    busy(el, busyText, async () => {
      const r = await settle(request(false));
      if (r.error?.code === 'version_deprecated') return askForce(step, r.error, request);
      if (r.error) {
        fill(message, actionError(r.error, step.action));
        return toast(`${step.action} failed: ${r.error.message}`, 'bad');
      }
      await changed(step.done(r.data));
    });

  function askForce(step, error, request) {
    const yes = button(step.anyway, { class: 'btn btn-small btn-primary' });
    yes.addEventListener('click', () =>
      busy(yes, 'Working…', async () => {
        const r = await settle(request(true));
        if (r.error) return fill(message, actionError(r.error, step.action));
        await changed(step.done(r.data));
      }),
    );
    fill(
      message,
      h(
        'div',
        { class: 'alert alert-warn', role: 'alert' },
        h('strong', {}, 'This version is deprecated. '),
        error.message,
        h(
          'div',
          { class: 'form-row' },
          yes,
          button('Cancel', { class: 'btn btn-small btn-ghost', onclick: () => fill(message) }),
        ),
      ),
    );
    yes.focus();
  }

  const activate = (v) => (e) =>
    switchTo(
      e.currentTarget,
      'Activating…',
      {
        action: `Activating ${v.version}`,
        anyway: `Activate ${v.version} anyway`,
        done: () => `${v.version} is now active`,
      },
      (force) => api.activate(page.id, v.version, force),
    );
  const rollback = (e) =>
    switchTo(
      e.currentTarget,
      'Rolling back…',
      {
        action: 'Rollback',
        anyway: 'Roll back anyway',
        done: (data) => `Rolled back: ${data.version} is active again`,
      },
      (force) => api.rollback(page.id, force),
    );

  /** Deprecating asks for a reason first (optional), in a small form over the table. */
  const deprecate = (v) => () => {
    const reasonId = `deprecate-reason-${v.version}`;
    const reason = h('input', { id: reasonId, type: 'text', class: 'text-input', maxlength: 1000 });
    const ok = h(
      'button',
      { type: 'submit', class: 'btn btn-small btn-primary' },
      `Mark ${v.version} deprecated`,
    );
    const box = h('div');
    const submit = formSubmit({
      read: () => reason.value.trim(),
      invalid: (err) => err.message,
      message: box,
      button: ok,
      busyText: 'Marking…',
      send: async (why) => {
        const r = await settle(api.deprecate(page.id, v.version, why));
        if (r.error) return fill(box, actionError(r.error, `Deprecating ${v.version}`));
        await changed(`${v.version} is deprecated`);
      },
    });
    fill(
      message,
      h(
        'form',
        { class: 'inline-form', onsubmit: submit, 'aria-label': `Deprecate ${v.version}` },
        h('label', { for: reasonId }, `Why is ${v.version} deprecated? (optional)`),
        reason,
        h(
          'div',
          { class: 'form-row' },
          ok,
          button('Cancel', { class: 'btn btn-small btn-ghost', onclick: () => fill(message) }),
        ),
        box,
      ),
    );
    reason.focus();
  };

  const reinstate = (v) => (e) =>
    busy(e.currentTarget, 'Reinstating…', async () => {
      const r = await settle(api.reinstate(page.id, v.version));
      if (r.error) return fill(message, actionError(r.error, `Reinstating ${v.version}`));
      await changed(`${v.version} is reinstated`);
    });

  /** A new version from the labelled rows, as a job followed here; the policy decides whether it serves. */
  const improve = (e) =>
    busy(e.currentTarget, 'Starting…', async () => {
      const r = await settle(api.regenerate(page.id));
      if (r.error) return fill(message, actionError(r.error, 'Starting an improvement'));
      const job = watchJob(r.data.job_id);
      const result = h('div', { id: 'improve-result' });
      fill(message, h('div', { class: 'job-box' }, job.element, result));
      const finished = await job.done;
      if (!finished) return;
      if (finished.state === 'succeeded') toast(`Improvement done: ${finished.result?.version} made`);
      await page.refreshApp();
      await page.load('versions', 'events', 'analytics', 'compare');
      fill(result, await madeVersion(page.id, finished));
    });

  const actionCell = (v) => {
    const name = v.version;
    return h(
      'div',
      { class: 'row-actions' },
      isCurrent(v)
        ? h('span', { class: 'muted small' }, 'serving')
        : button('Activate', { 'aria-label': `Activate ${name}`, onclick: activate(v) }),
      v.deprecated || v.status === 'deprecated'
        ? button('Reinstate', {
            class: 'btn btn-small btn-ghost',
            'aria-label': `Reinstate ${name}`,
            onclick: reinstate(v),
          })
        : isCurrent(v) || v.status === 'canary'
          ? null
          : button('Deprecate', {
              class: 'btn btn-small btn-ghost',
              'aria-label': `Deprecate ${name}`,
              onclick: deprecate(v),
            }),
    );
  };

  const columns = [
    {
      label: 'Version',
      cell: (v) =>
        h(
          'span',
          {},
          h('strong', {}, v.version),
          isCurrent(v) ? h('span', { class: 'muted small' }, ' current') : null,
        ),
    },
    {
      label: 'Status',
      cell: (v) =>
        h(
          'span',
          { class: 'version-status' },
          badge(v.status),
          // an active version may carry a deprecation too (activated with force)
          v.deprecated && v.status !== 'deprecated' ? [' ', badge('deprecated')] : null,
          v.deprecated
            ? h(
                'div',
                { class: 'muted small' },
                joinParts(`since ${time(v.deprecated.at)}`, v.deprecated.reason),
              )
            : null,
        ),
    },
    { label: 'Accuracy', class: 'num', cell: (v) => accuracyCell(v.eval) },
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
    { label: 'Action', cell: actionCell },
  ];

  return listPanel({
    title: 'Versions',
    id: 'versions',
    wide: true,
    actions: [button('Start improvement', { onclick: improve }), button('Roll back', { onclick: rollback })],
    refresh: 'versions',
    description:
      'Every version with its score. Activating checks that the version loads and answers, then switches to it; roll back returns to the version that was active before. A deprecated version is activated only when you confirm. Start improvement makes a new version from the labelled examples.',
    above: message,
    request: () => api.versions(page.id),
    what: 'the versions',
    pick: (data) => [...(data.versions ?? [])].reverse(),
    none: () =>
      empty(
        'No versions yet. A version is made when the app is created from examples, with Start improvement, or uploaded with ',
        h('code', {}, `POST /loop-apps/${page.id}/versions`),
        '.',
      ),
    columns,
    caption: 'Versions',
    rowClass: (v) => (isCurrent(v) ? 'row-current' : v.status === 'deprecated' ? 'row-deprecated' : null),
  });
}
