// Disagreements: checked samples where the oracle (or a reviewer) and the program answered differently.
import { api } from '../api.js';
import { empty, listPanel } from '../ui.js';
import { inputColumn, jsonColumn, timeColumn, versionColumn } from './columns.js';

const COLUMNS = [
  timeColumn,
  versionColumn,
  inputColumn,
  jsonColumn('Program said', (v) => v.program_output),
  jsonColumn('Oracle said', (v) => v.oracle_output),
  { label: 'Oracle', cell: (v) => v.oracle ?? '—' },
];

export const disagreementsPanel = (page) =>
  listPanel({
    title: 'Disagreements',
    id: 'disagreements',
    wide: true,
    refresh: 'disagreements',
    description: 'Checked samples where the oracle’s answer differed from the program’s.',
    request: () => api.disagreements(page.id, 25),
    what: 'the validations',
    pick: (data) => data.validations,
    none: () =>
      empty(
        'No disagreements recorded. Checked samples where the program and the oracle (or a reviewer) differ appear here.',
      ),
    columns: COLUMNS,
    caption: 'Disagreements with the oracle, newest first',
  });
