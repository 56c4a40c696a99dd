// Building blocks of the pages: panels, tables, badges, stat tiles, error and empty states, toasts, and the
// list panel that loads a table (or list) from the API.
import { settle } from './api.js';
import { fill, h } from './dom.js';

const STATUS_KIND = {
  active: 'good',
  canary: 'info',
  testing: 'neutral',
  paused: 'warn',
  retired: 'neutral',
  deprecated: 'warn',
  rejected: 'bad',
  archived: 'neutral',
  error: 'bad',
  ok: 'good',
  queued: 'neutral',
  running: 'info',
  succeeded: 'good',
  failed: 'bad',
};

export const badge = (text, kind = STATUS_KIND[text] ?? 'neutral') =>
  h('span', { class: `badge badge-${kind}` }, text);

/** A titled section; `actions` are buttons beside the title. */
export function panel({ title, id, actions = [], description, wide = false }, ...body) {
  const headingId = id ? `${id}-title` : undefined;
  return h(
    'section',
    { class: `panel${wide ? ' panel-wide' : ''}`, id, 'aria-labelledby': headingId },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', { id: headingId }, title),
      actions.length ? h('div', { class: 'panel-actions' }, actions) : null,
    ),
    description ? h('p', { class: 'panel-desc' }, description) : null,
    h('div', { class: 'panel-body' }, body),
  );
}

/** A table: `columns` are `{label, cell(row) → text or node, class?}`. */
export function table(columns, rows, { caption, rowClass } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            { class: rowClass?.(row) },
            columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(row))),
          ),
        ),
      ),
    ),
  );
}

export const stat = (label, value, sub) =>
  h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null,
  );

export const empty = (...text) => h('div', { class: 'empty' }, text);

export const loading = (what = 'Loading') => h('p', { class: 'muted loading' }, `${what}…`);

export const code = (text) => h('code', {}, text);

export const pre = (text, label) => h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, text);

/** Moves the focus to the key field, where a 401 asks the reader to go. */
export function focusKeyField() {
  const input = document.getElementById('api-key');
  input?.focus();
  input?.select();
}

/**
 * What a failed request shows. A 401 asks for an admin key; a route the server does not have is "not
 * available"; anything else shows the server's own message, code and details.
 */
export function errorBox(error, what = 'this') {
  if (error.needsKey) {
    return h(
      'div',
      { class: 'alert alert-key', role: 'alert' },
      h('strong', {}, 'Enter an admin key. '),
      `This server needs an API key with the admin role to show ${what}: type it in the “Admin key” field at the top and press Save. `,
      h('span', { class: 'muted' }, `(${error.message})`),
      ' ',
      h('button', { type: 'button', class: 'btn btn-small', onclick: focusKeyField }, 'Enter key'),
    );
  }
  if (error.notAvailable) {
    return h(
      'div',
      { class: 'alert alert-muted', role: 'note' },
      h('strong', {}, 'Not available. '),
      `This server does not offer ${what} yet (${error.message}).`,
    );
  }
  const details = error.details && Object.keys(error.details).length ? error.details : null;
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, error.status === 403 ? 'Not allowed: ' : `Could not load ${what}: `),
    error.message,
    h('span', { class: 'muted' }, ` (${error.code}${error.status ? `, HTTP ${error.status}` : ''})`),
    details ? h('pre', { class: 'json error-details' }, JSON.stringify(details, null, 2)) : null,
  );
}

/** The error of an action (execute, activate, …): the same box, worded for something that was attempted. */
export function actionError(error, action) {
  if (error.needsKey || error.notAvailable) return errorBox(error, action);
  const details = error.details && Object.keys(error.details).length ? error.details : null;
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, `${action} failed: `),
    error.message,
    h('span', { class: 'muted' }, ` (${error.code}${error.status ? `, HTTP ${error.status}` : ''})`),
    details ? h('pre', { class: 'json error-details' }, JSON.stringify(details, null, 2)) : null,
  );
}

/** A short message at the top right that goes away by itself (errors stay longer). */
export function toast(message, kind = 'good') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'bad' ? 10000 : 4000);
}

/** Runs `action` with the button disabled and showing `busyText`, so a double click does not send twice. */
export async function busy(button, busyText, action) {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}

/**
 * A form's submit handler: `read()` takes the value from the form; if that throws, `message` shows `invalid(err)`
 * as an alert, else `send(value)` runs with `button` disabled and showing `busyText` (see `busy`).
 */
export const formSubmit =
  ({ read, invalid, message, button, busyText, send }) =>
  async (e) => {
    e.preventDefault();
    let value;
    try {
      value = read();
    } catch (err) {
      return fill(message, h('div', { class: 'alert alert-error', role: 'alert' }, invalid(err)));
    }
    await busy(button, busyText, () => send(value));
  };

/** A panel's Refresh button; `what` names the panel for screen readers ("Refresh versions"). */
export const refreshButton = (what, load) =>
  h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small btn-ghost',
      'aria-label': `Refresh ${what}`,
      onclick: () => load(),
    },
    'Refresh',
  );

/**
 * A panel that shows a list from the API, with a Refresh button after its other `actions`: "Loading…" at first,
 * then the API's error, the empty state (`none()`, which says what to do), or the rows that `pick(data)` finds,
 * drawn as a table of `columns` (with `caption` and `rowClass`) or by `render(rows, data)`. `above` goes over the
 * list (a message box); `seen(result)` sees every answer, `{data}` or `{error}`, before it is drawn. The other
 * options are `panel`'s. Hands back the panel `element`, its list `body`, `load()` and `none`.
 */
export function listPanel({
  refresh,
  actions = [],
  above = null,
  request,
  what,
  pick,
  none,
  seen,
  columns,
  caption,
  rowClass,
  render = (rows) => table(columns, rows, { caption, rowClass }),
  ...head
}) {
  const body = h('div', {}, loading());
  const load = async () => {
    const result = await settle(request());
    seen?.(result);
    if (result.error) return fill(body, errorBox(result.error, what));
    const rows = pick(result.data) ?? [];
    fill(body, rows.length ? render(rows, result.data) : none());
  };
  const element = panel({ ...head, actions: [...actions, refreshButton(refresh, load)] }, above, body);
  return { element, body, load, none };
}
