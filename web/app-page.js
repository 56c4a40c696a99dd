// One Loop App: trends, versions (activate, roll back, deprecate, improve), comparing two versions, a try-it box,
// adding examples, the review queue, recent executions, disagreements with the oracle, events and settings, each
// panel in its own file under panels/. Each panel
// loads on its own, so one failing endpoint shows its error in its panel and the rest of the page still works.
import { api, settle } from './api.js';
import { fill, h } from './dom.js';
import { addExamplesPanel } from './panels/add-examples.js';
import { comparePanel } from './panels/compare.js';
import { disagreementsPanel } from './panels/disagreements.js';
import { eventsPanel } from './panels/events.js';
import { executionsPanel } from './panels/executions.js';
import { headPanel } from './panels/head.js';
import { reviewPanel } from './panels/review-queue.js';
import { settingsPanel } from './panels/settings.js';
import { sharedPanel } from './panels/shared.js';
import { trendsPanel } from './panels/trends.js';
import { tryPanel } from './panels/try-it.js';
import { versionsPanel } from './panels/versions.js';
import { errorBox, loading } from './ui.js';

const backLink = () => h('a', { href: '#/', class: 'back' }, '← All Loop Apps');

export async function renderAppPage(root, id) {
  fill(root, backLink(), loading(`Loading ${id}`));
  const first = await settle(api.app(id));
  if (first.error) {
    return fill(root, backLink(), h('h1', {}, id), errorBox(first.error, `the Loop App “${id}”`));
  }

  /** The panels that load from the API, by name; `page.load(name, …)` reloads them. */
  const loaders = {};
  /** What the panels share: the app as last read, and the ways to show a new state of it or reload panels. */
  const page = {
    id,
    app: first.data,
    /** Shows a new state of the app: the head and the settings are drawn from it. */
    show(app) {
      page.app = app;
      head.render();
      settings.render();
      addExamples.refresh();
    },
    async refreshApp() {
      const result = await settle(api.app(id));
      if (result.error) return head.showError(errorBox(result.error, 'the Loop App'));
      page.show(result.data);
    },
    load: (...names) => Promise.all(names.map((name) => loaders[name]())),
    loadAll() {
      page.refreshApp();
      return page.load(...Object.keys(loaders));
    },
  };

  const head = headPanel(page);
  const trends = trendsPanel(page);
  const versions = versionsPanel(page);
  const compare = comparePanel(page);
  const addExamples = addExamplesPanel(page);
  const tryIt = tryPanel(page);
  const review = reviewPanel(page);
  const executions = executionsPanel(page);
  const disagreements = disagreementsPanel(page);
  const events = eventsPanel(page);
  const shared = sharedPanel(page);
  const settings = settingsPanel(page);
  Object.assign(loaders, {
    analytics: trends.load,
    versions: versions.load,
    compare: compare.load,
    review: review.load,
    executions: executions.load,
    disagreements: disagreements.load,
    events: events.load,
    shared: shared.load,
  });

  fill(
    root,
    backLink(),
    head.elements,
    trends.tiles,
    h(
      'div',
      { class: 'grid' },
      [
        trends,
        versions,
        compare,
        tryIt,
        addExamples,
        review,
        executions,
        disagreements,
        events,
        shared,
        settings,
      ].map((p) => p.element),
    ),
  );
  head.render();
  settings.render();
  tryIt.render();
  await page.load(...Object.keys(loaders));
}
