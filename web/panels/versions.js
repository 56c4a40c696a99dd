// Versions: every version with its held-out score; activate one, or roll back to the one before.
import { api, settle } from '../api.js';
import { fill, h, joinParts, num, pct, time } from '../dom.js';
import { actionError, badge, busy, empty, listPanel, toast } from '../ui.js';

export function versionsPanel(page) {
  const message = h('div');
  const isCurrent = (v) => v.version === page.app.active_version;

  /** Runs an activation or a rollback from `button`; on success the app, versions, events and trends reload. */
  const switchTo = (button, busyText, action, request, done) =>
    busy(button, busyText, async () => {
      const r = await settle(request());
      if (r.error) {
        fill(message, actionError(r.error, action));
        return toast(`${action} failed: ${r.error.message}`, 'bad');
      }
      fill(message);
      toast(done(r.data));
      // the table marks the current version from the app, so the app is read first
      await page.refreshApp();
      await page.load('versions', 'events', 'analytics');
    });
  const activate = (v) => (e) =>
    switchTo(
      e.currentTarget,
      'Activating…',
      `Activating ${v.version}`,
      () => api.activate(page.id, v.version),
      () => `${v.version} is now active`,
    );
  const rollback = (e) =>
    switchTo(
      e.currentTarget,
      'Rolling back…',
      'Rollback',
      () => api.rollback(page.id),
      (data) => `Rolled back: ${data.version} is active again`,
    );

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
    { label: 'Status', cell: (v) => badge(v.status) },
    {
      label: 'Accuracy',
      class: 'num',
      cell: (v) =>
        v.eval
          ? h(
              'span',
              {},
              pct(v.eval.accuracy),
              v.eval.interval
                ? h(
                    'div',
                    { class: 'muted small' },
                    `95 % CI ${pct(v.eval.interval.low)}–${pct(v.eval.interval.high)}`,
                  )
                : null,
            )
          : '—',
    },
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
        isCurrent(v)
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
  ];

  return listPanel({
    title: 'Versions',
    id: 'versions',
    wide: true,
    actions: [h('button', { type: 'button', class: 'btn btn-small', onclick: rollback }, 'Roll back')],
    refresh: 'versions',
    description:
      'Every version with its held-out score. Activating checks that the version loads and answers, then switches to it; roll back returns to the version that was active before.',
    above: message,
    request: () => api.versions(page.id),
    what: 'the versions',
    pick: (data) => [...(data.versions ?? [])].reverse(),
    none: () =>
      empty(
        'No versions yet. A version is made when the app is created from examples, or uploaded with ',
        h('code', {}, `POST /loop-apps/${page.id}/versions`),
        '.',
      ),
    columns,
    caption: 'Versions',
    rowClass: (v) => (isCurrent(v) ? 'row-current' : null),
  });
}
