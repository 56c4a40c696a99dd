// Small DOM and formatting helpers. Data from the API only ever becomes text nodes, never HTML.

/**
 * Makes an element: `h('button', {class: 'btn', onclick: fn, 'aria-label': '…'}, 'text', child, …)`.
 * Props starting with `on` are listeners; `null`/`false` props and children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'value') el.value = value;
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

export const pct = (x, digits = 1) => (isNum(x) ? `${(x * 100).toFixed(digits)} %` : '—');

export const num = (x) => (isNum(x) ? x.toLocaleString('en-US') : '—');

export function ms(x) {
  if (!isNum(x)) return '—';
  if (x < 1) return `${(x * 1000).toFixed(0)} µs`;
  if (x < 100) return `${x.toFixed(x < 10 ? 2 : 1)} ms`;
  return `${Math.round(x).toLocaleString('en-US')} ms`;
}

export const money = (x) => (isNum(x) ? `$${x.toFixed(x >= 100 ? 0 : 2)}` : '—');

export function time(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Compact JSON for table cells: strings as they are, everything else as JSON, cut at `max` characters. */
export function brief(value, max = 120) {
  if (value === undefined) return '—';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const pretty = (value) => JSON.stringify(value, null, 2);

/** The parts that are there (not null, undefined or false), joined with ` · `. */
export const joinParts = (...parts) =>
  parts.filter((p) => p !== null && p !== undefined && p !== false).join(' · ');
