// Recent executions: the newest entries of the execution log.
import { api } from '../api.js';
import { brief, h, isNum, ms } from '../dom.js';
import { badge, empty, listPanel } from '../ui.js';
import { inputColumn, jsonColumn, timeColumn, versionColumn } from './columns.js';

const COLUMNS = [
  timeColumn,
  versionColumn,
  inputColumn,
  jsonColumn('Output', (x) => x.output),
  {
    label: 'Confidence',
    class: 'num',
    cell: (x) => (isNum(x.confidence) ? x.confidence.toFixed(3) : '—'),
  },
  { label: 'Latency', class: 'num', cell: (x) => ms(x.latency_ms) },
  {
    label: 'Status',
    cell: (x) =>
      h(
        'span',
        {},
        badge(x.status ?? 'ok', x.status === 'error' ? 'bad' : 'good'),
        x.error ? h('div', { class: 'cell-error small' }, brief(x.error, 160)) : null,
      ),
  },
  { label: 'Sampled', cell: (x) => (x.sampled ? (x.sample_rule ?? 'yes') : '—') },
];

export const executionsPanel = (page) =>
  listPanel({
    title: 'Recent executions',
    id: 'executions',
    wide: true,
    refresh: 'recent executions',
    request: () => api.executions(page.id, 25),
    what: 'the recent executions',
    pick: (data) => data.executions,
    none: () =>
      empty(
        'No executions yet. Try the app above, or call ',
        h('code', {}, `POST ${page.app.endpoint}`),
        '.',
      ),
    columns: COLUMNS,
    caption: 'Recent executions, newest first',
  });
