// Labelled examples from text a person pastes or uploads: JSON Lines, or CSV with a header row whose columns are
// mapped onto the input fields and the output. Pure functions: no DOM, no requests.
import { firstType, labelChoice } from './schema.js';

/** The cell separator of a CSV text: a comma, unless its first line has semicolons or tabs and no commas. */
function delimiterOf(text) {
  const firstLine = text.slice(0, text.search(/\r\n|\n|\r|$/));
  if (firstLine.includes(',')) return ',';
  if (firstLine.includes('\t')) return '\t';
  if (firstLine.includes(';')) return ';';
  return ',';
}

/**
 * Parses CSV (RFC 4180): quoted fields may hold separators, doubled quotes and line breaks; lines end in CRLF, LF
 * or CR; a byte-order mark is dropped. Returns `{rows: string[][], error?}`, blank lines left out; an unclosed
 * quote is an error naming the line it opened on.
 */
export function parseCsv(text) {
  const src = text.replace(/^\uFEFF/, '');
  const sep = delimiterOf(src);
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let quoteLine = 0;
  let line = 1;
  const endRow = () => {
    row.push(cell);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    cell = '';
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n' || (c === '\r' && src[i + 1] !== '\n')) line++;
        cell += c;
      }
    } else if (c === '"' && cell === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === sep) {
      row.push(cell);
      cell = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      line++;
      endRow();
    } else cell += c;
  }
  if (quoted) return { rows, error: `a quoted field opened on line ${quoteLine} is never closed` };
  if (cell !== '' || row.length) endRow();
  return { rows };
}

/** Parses JSON Lines: `{examples, problems}`, where each problem is `{line, message}` (1-based lines). */
export function parseJsonl(text) {
  const examples = [];
  const problems = [];
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (!raw.trim()) return;
    try {
      examples.push(JSON.parse(raw));
    } catch (err) {
      problems.push({ line: i + 1, message: `line ${i + 1} is not valid JSON: ${err.message}` });
    }
  });
  return { examples, problems };
}

/** Whether a text (with the name of the file it came from, if any) is CSV rather than JSON Lines. */
export function looksLikeCsv(text, fileName = '') {
  if (/\.(csv|tsv)$/i.test(fileName)) return true;
  if (/\.(jsonl|ndjson|json)$/i.test(fileName)) return false;
  return !/^\s*[[{]/.test(text);
}

/** The top-level fields of an input schema, `[{name, type}]`, in the schema's order. */
export const inputFields = (schema) =>
  Object.entries(schema?.properties ?? {}).map(([name, prop]) => ({
    name,
    type: firstType(prop?.type) ?? 'string',
  }));

const BOOLEAN_TEXT = { true: true, yes: true, 1: true, false: false, no: false, 0: false };

/**
 * A CSV cell as a value of JSON Schema type `type`. A cell that does not read as that type stays the text it is,
 * so the server's check names the row and the field.
 */
export function convertCell(text, type) {
  const t = text.trim();
  if (type === 'number' || type === 'integer') {
    const n = t === '' ? NaN : Number(t);
    return Number.isFinite(n) && (type === 'number' || Number.isInteger(n)) ? n : text;
  }
  if (type === 'boolean') return BOOLEAN_TEXT[t.toLowerCase()] ?? text;
  if (type === 'null') return t === '' || t === 'null' ? null : text;
  return text;
}

/** A CSV cell as an output: a label (wrapped as the schema wants it), else converted by the schema's type. */
export function convertOutput(text, schema) {
  const choice = labelChoice(schema);
  if (choice) {
    const kind = typeof choice.values[0];
    const value = convertCell(text, kind === 'number' || kind === 'boolean' ? kind : 'string');
    // a label with spaces around it is still that label
    const label = typeof value === 'string' && choice.values.includes(value.trim()) ? value.trim() : value;
    return choice.wrap(label);
  }
  return convertCell(text, firstType(schema?.type) ?? 'string');
}

const OUTPUT_NAMES = ['label', 'output', 'category', 'class', 'target'];
const norm = (s) => s.trim().toLowerCase();

/**
 * The column mapping to start from: each input field takes the column whose header is its name (ignoring case
 * and spaces), the output a column named label/output/category (or the last column no field took). Columns are
 * indexes into the header; -1 is none. `previous` keeps the choices a person already made where they still fit.
 */
export function defaultMapping(header, fields, previous = null) {
  const find = (name) => header.findIndex((h) => norm(h) === norm(name));
  const valid = (i) => Number.isInteger(i) && i >= -1 && i < header.length;
  const inputs = {};
  for (const f of fields) {
    const kept = previous?.inputs?.[f.name];
    inputs[f.name] = valid(kept) ? kept : find(f.name);
  }
  let output = valid(previous?.output) ? previous.output : -1;
  if (output < 0) {
    output = OUTPUT_NAMES.map(find).find((i) => i >= 0) ?? -1;
    const taken = new Set(Object.values(inputs));
    if (output < 0) {
      for (let i = header.length - 1; i >= 0 && output < 0; i--) if (!taken.has(i)) output = i;
    }
  }
  return { inputs, output };
}

/**
 * CSV rows (the header first) as labelled examples under `mapping`, converted per the schemas. Returns
 * `{examples, problems}`; a problem is `{index, message}` for a row whose cells do not line up with the header,
 * or `{index: null, message}` for the file as a whole.
 */
export function csvExamples(rows, mapping, inputSchema, outputSchema) {
  const [header = [], ...body] = rows;
  const fields = inputFields(inputSchema).filter((f) => mapping.inputs[f.name] >= 0);
  const problems = [];
  if (mapping.output < 0) problems.push({ index: null, message: 'choose the column that holds the output' });
  if (!fields.length) problems.push({ index: null, message: 'map at least one column to an input field' });
  const examples = body.map((cells, index) => {
    if (cells.length !== header.length) {
      problems.push({
        index,
        message: `has ${cells.length} cells where the header has ${header.length}`,
      });
    }
    const input = Object.fromEntries(
      fields.map((f) => [f.name, convertCell(cells[mapping.inputs[f.name]] ?? '', f.type)]),
    );
    return { input, output: convertOutput(cells[mapping.output] ?? '', outputSchema) };
  });
  return { examples, problems };
}
