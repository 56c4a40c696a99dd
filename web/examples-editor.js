// The labelled examples of a form: pasted (JSON Lines or CSV) or uploaded as a file; for CSV, which column is
// which input field and which the output; a preview of the first rows; and, after the server refused them, each
// bad row's errors against that row. Used by the new-app page and the app page's "Add examples".
import { brief, fill, h, num } from './dom.js';
import {
  csvExamples,
  defaultMapping,
  inputFields,
  looksLikeCsv,
  parseCsv,
  parseJsonl,
} from './examples-data.js';
import { actionError, empty, table } from './ui.js';

/** Rows the preview shows from the top; rows with errors are shown wherever they are. */
const PREVIEW_ROWS = 8;
/** The most rows with errors listed one by one. */
const MAX_BAD_ROWS = 200;

const columnSelect = (id, header, chosen) =>
  h(
    'select',
    { id },
    h('option', { value: '-1', selected: chosen < 0 }, '(none)'),
    header.map((name, i) =>
      h('option', { value: String(i), selected: i === chosen }, `${i + 1}: ${name || '(no header)'}`),
    ),
  );

/**
 * `schemas()` gives the `{input_schema, output_schema}` the rows are read against (it may throw while a person
 * is still writing them). Hands back the `element`, `refresh()` (after the schemas changed), `read()` (the
 * examples, or throws saying what to fix), `showRowErrors(details.rows)` and `reset()`.
 */
export function examplesEditor({ idPrefix, schemas }) {
  const paste = h('textarea', {
    id: `${idPrefix}-paste`,
    rows: 7,
    spellcheck: 'false',
    class: 'code-input',
    placeholder: '{"input": {…}, "output": "…"}\n…   or CSV: a header row, then one row per example',
    oninput: () => update(),
  });
  const file = h('input', {
    id: `${idPrefix}-file`,
    type: 'file',
    accept: '.csv,.tsv,.jsonl,.ndjson,.json,text/csv,application/json',
    onchange: () => readFile(),
  });
  const fileNote = h('div', { class: 'small', 'aria-live': 'polite' });
  const mappingBox = h('div');
  const problemsBox = h('div');
  const preview = h('div', { class: 'examples-preview' });

  /** The uploaded file, `{name, text}`, which is used instead of the pasted text while it is chosen. */
  let upload = null;
  /** The CSV mapping, with the header and fields it was drawn for (its selects are redrawn only when they change). */
  let mapping = null;
  let mappingKey = '';
  let mappedHeader = '';
  /** The server's errors by row index, for the rows as they were sent; cleared when the rows change. */
  let rowErrors = new Map();
  let current = { examples: [], problems: [], fields: [] };

  const spec = () => {
    try {
      return { ...schemas(), schemaError: null };
    } catch (err) {
      return { input_schema: {}, output_schema: {}, schemaError: err.message };
    }
  };

  async function readFile() {
    const chosen = file.files?.[0];
    if (!chosen) return clearFile();
    upload = { name: chosen.name, text: await chosen.text() };
    fill(
      fileNote,
      'Using the file ',
      h('strong', {}, chosen.name),
      ` (${num(chosen.size)} bytes) instead of the pasted text. `,
      h(
        'button',
        { type: 'button', class: 'btn btn-small btn-ghost', onclick: clearFile },
        'Remove the file',
      ),
    );
    update();
  }

  function clearFile() {
    upload = null;
    file.value = '';
    fill(fileNote);
    update();
  }

  function drawMapping(header, fields) {
    const key = JSON.stringify([header, fields]);
    if (key === mappingKey) return;
    mappingKey = key;
    const onchange = () => {
      mapping = {
        inputs: Object.fromEntries(
          fields.map((f, i) => [f.name, Number(mappingBox.querySelector(`#${idPrefix}-col-${i}`).value)]),
        ),
        output: Number(mappingBox.querySelector(`#${idPrefix}-col-output`).value),
      };
      update();
    };
    fill(
      mappingBox,
      h(
        'fieldset',
        { class: 'mapping', onchange },
        h('legend', {}, 'CSV columns'),
        fields.length
          ? fields.map((f, i) =>
              h(
                'div',
                { class: 'mapping-row' },
                h('label', { for: `${idPrefix}-col-${i}` }, `Input field “${f.name}” (${f.type})`),
                columnSelect(`${idPrefix}-col-${i}`, header, mapping.inputs[f.name]),
              ),
            )
          : h('p', { class: 'muted small' }, 'The input schema has no fields to map columns to yet.'),
        h(
          'div',
          { class: 'mapping-row' },
          h('label', { for: `${idPrefix}-col-output` }, 'Output (the label)'),
          columnSelect(`${idPrefix}-col-output`, header, mapping.output),
        ),
      ),
    );
  }

  /** Reads the rows from the file or the pasted text, under the current schemas and mapping. */
  function parse() {
    const { input_schema, output_schema, schemaError } = spec();
    const fields = inputFields(input_schema);
    const text = upload?.text ?? paste.value;
    const problems = schemaError ? [{ index: null, message: `the schemas do not read: ${schemaError}` }] : [];
    if (!text.trim()) {
      mappingKey = '';
      fill(mappingBox);
      return { examples: [], problems, fields, csv: false };
    }
    if (!looksLikeCsv(text, upload?.name)) {
      mappingKey = '';
      fill(mappingBox);
      const jsonl = parseJsonl(text);
      return { examples: jsonl.examples, problems: [...problems, ...jsonl.problems], fields, csv: false };
    }
    const { rows, error } = parseCsv(text);
    if (error) problems.push({ index: null, message: `The CSV does not parse: ${error}` });
    const header = rows[0] ?? [];
    // the choices made stay while the header is the same (a new file starts from the defaults again)
    const sameHeader = JSON.stringify(header) === mappedHeader;
    mappedHeader = JSON.stringify(header);
    mapping = defaultMapping(header, fields, sameHeader ? mapping : null);
    drawMapping(header, fields);
    const out = csvExamples(rows, mapping, input_schema, output_schema);
    if (rows.length < 2) problems.push({ index: null, message: 'the CSV has a header row but no examples' });
    return { examples: out.examples, problems: [...problems, ...out.problems], fields, csv: true };
  }

  function drawPreview() {
    const { examples, problems, fields } = current;
    const localErrors = new Map();
    for (const p of problems.filter((p) => p.index !== null)) {
      localErrors.set(p.index, [...(localErrors.get(p.index) ?? []), { path: '/', message: p.message }]);
    }
    const errorsOf = (i) => [...(localErrors.get(i) ?? []), ...(rowErrors.get(i) ?? [])];
    const overall = problems.filter((p) => p.index === null);
    fill(
      problemsBox,
      overall.length
        ? h(
            'div',
            { class: 'alert alert-error', role: 'alert' },
            h('strong', {}, 'The examples cannot be read yet: '),
            h(
              'ul',
              {},
              overall.map((p) => h('li', {}, p.message)),
            ),
          )
        : null,
    );
    if (!examples.length) return fill(preview, empty('No examples yet: paste them above or choose a file.'));
    const bad = examples.map((_, i) => i).filter((i) => errorsOf(i).length);
    const shown = [...new Set([...examples.slice(0, PREVIEW_ROWS).map((_, i) => i), ...bad])]
      .sort((a, b) => a - b)
      .slice(0, PREVIEW_ROWS + MAX_BAD_ROWS);
    const inputColumns = fields.length
      ? fields.map((f) => ({ label: f.name, cell: (i) => brief(examples[i]?.input?.[f.name], 80) }))
      : [{ label: 'Input', cell: (i) => brief(examples[i]?.input, 80) }];
    const rows = table(
      [
        { label: 'Row', class: 'num', cell: (i) => String(i + 1) },
        ...inputColumns,
        { label: 'Output', cell: (i) => h('code', {}, brief(examples[i]?.output, 60)) },
        {
          label: 'Problems',
          cell: (i) => {
            const errors = errorsOf(i);
            return errors.length
              ? h(
                  'ul',
                  { class: 'row-errors' },
                  errors.map((e) => h('li', {}, e.path && e.path !== '/' ? `${e.path}: ` : '', e.message)),
                )
              : h('span', { class: 'muted small' }, 'ok');
          },
        },
      ],
      shown,
      { caption: 'Preview of the examples', rowClass: (i) => (errorsOf(i).length ? 'row-bad' : null) },
    );
    fill(
      preview,
      h(
        'p',
        { class: 'small preview-summary' },
        h('strong', {}, `${num(examples.length)} example${examples.length === 1 ? '' : 's'}`),
        examples.length > shown.length ? ` · showing ${num(shown.length)}` : '',
        bad.length ? h('span', { class: 'cell-error' }, ` · ${num(bad.length)} with problems`) : '',
      ),
      rows,
    );
  }

  function update() {
    current = parse();
    rowErrors = new Map();
    drawPreview();
  }

  const element = h(
    'div',
    { class: 'examples-editor' },
    h(
      'label',
      { for: `${idPrefix}-paste` },
      'Paste labelled examples: JSON Lines (one {"input": …, "output": …} a line) or CSV with a header row',
    ),
    paste,
    h(
      'div',
      { class: 'file-row' },
      h('label', { for: `${idPrefix}-file` }, 'Or upload a file (JSONL, or CSV with a header row)'),
      file,
      fileNote,
    ),
    mappingBox,
    problemsBox,
    h('div', { class: 'result-label' }, 'Preview'),
    preview,
  );
  update();

  return {
    element,
    refresh: update,
    /** The examples to send; throws an Error saying what to fix first. */
    read() {
      update();
      const { examples, problems } = current;
      if (problems.length) {
        throw new Error(
          `fix the examples first: ${problems.map((p) => (p.index === null ? p.message : `row ${p.index + 1} ${p.message}`)).join('; ')}`,
        );
      }
      if (!examples.length) throw new Error('add labelled examples: paste them or choose a file');
      return examples;
    },
    /** Shows the server's `details.rows` (`[{index, errors: [{path, message}]}]`) against the rows sent. */
    showRowErrors(rows) {
      rowErrors = new Map((rows ?? []).map((r) => [r.index, r.errors ?? []]));
      drawPreview();
    },
    reset() {
      paste.value = '';
      clearFile();
    },
  };
}

/**
 * What a refused request (`action`, "Creating the Loop App") shows: for 400 invalid_examples, each bad row is
 * marked in the preview and the box says nothing was `done` ("created", "stored"); any other error shows the
 * server's message and details.
 */
export function examplesRefused(error, editor, action, done = 'stored') {
  const rows = error.code === 'invalid_examples' ? error.details?.rows : null;
  if (!Array.isArray(rows)) return actionError(error, action);
  editor.showRowErrors(rows);
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, `${action} failed: `),
    error.message,
    h(
      'p',
      {},
      `Nothing was ${done}: `,
      rows.length === 1 ? 'the row with problems is' : `the ${rows.length} rows with problems are`,
      ' marked in the preview with what the server said about each.',
    ),
  );
}
