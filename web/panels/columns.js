// Table columns that more than one history table shows.
import { brief, h, time } from '../dom.js';

/** A JSON value in a cell, cut at `max` characters; `title` adds the longer text on hover. */
const jsonCell = (value, max, title) => h('code', { class: 'cell-json', title }, brief(value, max));

export const timeColumn = { label: 'Time', cell: (row) => time(row.ts) };

export const versionColumn = { label: 'Version', cell: (row) => row.version };

export const inputColumn = { label: 'Input', cell: (row) => jsonCell(row.input, 80, brief(row.input, 2000)) };

/** A column of a JSON value: `label` over `pick(row)`. */
export const jsonColumn = (label, pick) => ({ label, cell: (row) => jsonCell(pick(row), 60) });
