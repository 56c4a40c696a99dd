// Compare versions: two versions side by side, each with its score, interval, n, method, confusion matrix and
// per-class figures (from GET /loop-apps/{id}/versions/{v}).
import { api, settle } from '../api.js';
import { fill, h, isNum } from '../dom.js';
import { evalView } from '../scores.js';
import { badge, empty, errorBox, loading, panel, refreshButton } from '../ui.js';

/** "+3.3 points" between two accuracies. */
const points = (a, b) => {
  const d = (b - a) * 100;
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d).toFixed(1)} points`;
};

export function comparePanel(page) {
  const controls = h('div', { class: 'compare-controls' });
  const body = h('div', {}, loading('Loading the versions'));
  /** The versions picked, kept across reloads while they still exist. */
  const picked = { a: null, b: null };

  const select = (key, label, names) => {
    const id = `compare-${key}`;
    return h(
      'div',
      {},
      h('label', { for: id }, label),
      h(
        'select',
        {
          id,
          onchange: (e) => {
            picked[key] = e.currentTarget.value;
            show();
          },
        },
        names.map((n) => h('option', { value: n, selected: n === picked[key] }, n)),
      ),
    );
  };

  const column = (result, name) =>
    h(
      'div',
      { class: 'compare-column', 'aria-label': `Score of ${name}`, role: 'group' },
      result.error
        ? errorBox(result.error, name)
        : [h('h3', {}, `${name} `, badge(result.data.status)), evalView(result.data.eval, name)],
    );

  async function show() {
    const { a, b } = picked;
    fill(body, loading(`Loading ${a} and ${b}`));
    const [ra, rb] = await Promise.all([settle(api.version(page.id, a)), settle(api.version(page.id, b))]);
    const ea = ra.data?.eval;
    const eb = rb.data?.eval;
    fill(
      body,
      isNum(ea?.accuracy) && isNum(eb?.accuracy)
        ? h(
            'p',
            { class: 'compare-summary' },
            h('strong', {}, `${b} vs ${a}: ${points(ea.accuracy, eb.accuracy)} of accuracy. `),
            h(
              'span',
              { class: 'muted small' },
              'Each score was measured when its version was made, on the rows labelled then, so the two may not be on the same rows.',
            ),
          )
        : null,
      h('div', { class: 'compare-grid' }, column(ra, a), column(rb, b)),
    );
  }

  async function load() {
    const r = await settle(api.versions(page.id));
    if (r.error) {
      fill(controls);
      return fill(body, errorBox(r.error, 'the versions'));
    }
    const names = (r.data.versions ?? []).map((v) => v.version).reverse();
    if (names.length < 2) {
      fill(controls);
      return fill(body, empty('Comparing needs two versions: Start improvement makes another one.'));
    }
    const active = page.app.active_version;
    if (!names.includes(picked.a)) picked.a = names.includes(active) ? active : names[1];
    if (!names.includes(picked.b) || picked.b === picked.a) picked.b = names.find((n) => n !== picked.a);
    fill(controls, select('a', 'First version', names), select('b', 'Second version', names));
    await show();
  }

  const element = panel(
    {
      title: 'Compare versions',
      id: 'compare',
      wide: true,
      actions: [refreshButton('the comparison', () => load())],
      description: 'Two versions side by side: their scores and where each goes wrong.',
    },
    controls,
    body,
  );
  return { element, load };
}
