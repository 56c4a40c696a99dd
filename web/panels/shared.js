// Shared artifacts: the ones this app's versions pin (dependencies.yaml), with every version of every app that
// pins each, so that who depends on a base model is one look away.
import { api } from '../api.js';
import { h, num } from '../dom.js';
import { empty, listPanel } from '../ui.js';

const pinsOf = (artifact, id) => artifact.dependents.filter((d) => d.loop_app_id === id);
const others = (artifact, id) => artifact.dependents.filter((d) => d.loop_app_id !== id);
const listOf = (dependents) => dependents.map((d) => `${d.loop_app_id} ${d.version}`).join(', ') || '—';
const bytes = (artifact) => Object.values(artifact.files).reduce((n, f) => n + f.size, 0);

export const sharedPanel = (page) =>
  listPanel({
    title: 'Shared artifacts',
    id: 'shared',
    refresh: 'shared artifacts',
    request: () => api.sharedArtifacts(),
    what: 'the shared artifacts',
    pick: (data) => data.artifacts.filter((a) => pinsOf(a, page.id).length),
    none: () =>
      empty(
        'No version of this app uses a shared artifact: each keeps its own files (dependencies.yaml pins one).',
      ),
    caption: 'Shared artifacts this app pins',
    columns: [
      { label: 'Artifact', cell: (a) => h('strong', {}, `${a.type} ${a.name} ${a.version}`) },
      { label: 'Hash', cell: (a) => h('code', { class: 'small', title: a.hash }, a.hash.slice(0, 19) + '…') },
      { label: 'Size', class: 'num', cell: (a) => `${num(bytes(a))} B` },
      {
        label: 'Pinned here by',
        cell: (a) =>
          pinsOf(a, page.id)
            .map((d) => d.version)
            .join(', '),
      },
      { label: 'Also pinned by', cell: (a) => listOf(others(a, page.id)) },
    ],
  });
