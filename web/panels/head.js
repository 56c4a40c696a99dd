// The page head: the app's name, status and task, Pause or Resume, Refresh all; below it, the app's load error.
import { api, settle } from '../api.js';
import { fill, h } from '../dom.js';
import { actionError, badge, busy, toast } from '../ui.js';

export function headPanel(page) {
  const head = h('div', { class: 'page-head' });
  const alert = h('div');

  const pauseOrResume = (e) => {
    const paused = page.app.status !== 'active';
    return busy(e.currentTarget, paused ? 'Resuming…' : 'Pausing…', async () => {
      const result = await settle(api.setStatus(page.id, paused ? 'resume' : 'pause'));
      if (result.error) return fill(alert, actionError(result.error, paused ? 'Resume' : 'Pause'));
      toast(paused ? 'Resumed: the app answers again' : 'Paused: execute now answers 503');
      page.show(result.data);
    });
  };

  const render = () => {
    const { app } = page;
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
        h('button', { type: 'button', class: 'btn', onclick: pauseOrResume }, paused ? 'Resume' : 'Pause'),
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => page.loadAll() }, 'Refresh all'),
      ),
    );
    fill(
      alert,
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

  /** Shows `node` (an error of the page as a whole) where the load error goes. */
  const showError = (node) => fill(alert, node);
  return { elements: [head, alert], render, showError };
}
