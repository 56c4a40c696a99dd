import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parse as parseCsv } from 'csv-parse';
import { ApiError, badRequest } from '../domain/errors';
import type { JsonSchema, LoopAppConfig } from '../domain/types';
import type { SchemaValidators } from '../runtime/app-config';
import { exampleErrors, type RowError } from '../runtime/input-checks';
import { learnableTarget } from '../synthesis/learner/target';
import { storageError } from '../store/files';

/** How many bad rows a refused upload lists (it counts them all). */
const LISTED_BAD_ROWS = 100;

export interface UploadLimits {
  /** The whole upload (max_examples_bytes). */
  maxBytes: number;
  /** One line or CSV record (max_body_bytes: no row may be larger than a body could be). */
  maxRowBytes: number;
}

/** A streamed upload: JSON Lines, or CSV with a header row. */
export const isStreamedUpload = (req: IncomingMessage): boolean =>
  /^(application\/(x-ndjson|jsonl)|text\/csv)\b/i.test(req.headers['content-type'] ?? '');

interface Candidate {
  line: number;
  row?: unknown;
  error?: string;
}

/**
 * Reads labelled rows from a streamed request into `file` (JSON lines, `source` and `ts` added), checking each
 * against the app's schemas as it arrives, so memory stays bounded by one row whatever the upload's size. Any bad
 * row refuses the whole upload: 400 listing the first 100 by line number (the caller then deletes `file`).
 * Resolves to the number of rows written.
 */
export async function receiveExamples(
  req: IncomingMessage,
  query: Record<string, unknown>,
  app: { config: LoopAppConfig; validators: SchemaValidators },
  limits: UploadLimits,
  file: string,
): Promise<number> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const csv = /^text\/csv\b/i.test(req.headers['content-type'] ?? '');
  const source = limited(req, limits.maxBytes);
  const rows = csv
    ? csvRows(source, query, app.config, limits.maxRowBytes)
    : jsonLines(source, limits.maxRowBytes);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const out = fs.createWriteStream(file, { flags: 'wx' });
  const written = finished(out); // settles once, whenever the stream ends or fails
  const bad: Array<{ line: number; errors: RowError[] }> = [];
  let badCount = 0;
  let good = 0;
  let seen = 0;
  const ts = new Date().toISOString();
  try {
    for await (const { line, row, error } of rows) {
      seen++;
      const errors = error ? [{ path: '/', message: error }] : exampleErrors(row, app.validators);
      if (errors.length) {
        if (++badCount <= LISTED_BAD_ROWS) bad.push({ line, errors });
        continue;
      }
      if (badCount) continue; // nothing will be stored: only the checking goes on
      const { input, output } = row as { input: unknown; output: unknown };
      if (!out.write(JSON.stringify({ input, output, source: 'user', ts }) + '\n')) {
        await Promise.race([once(out, 'drain'), written]);
      }
      good++;
    }
  } finally {
    out.end();
    await written.catch(() => undefined);
  }
  await written.catch((err: unknown) => {
    throw storageError(err, 'the uploaded examples');
  });
  if (badCount) {
    throw badRequest(
      'invalid_examples',
      `${badCount} of ${seen} rows are not labelled examples that match the schemas; nothing was stored` +
        (badCount > LISTED_BAD_ROWS ? ` (the first ${LISTED_BAD_ROWS} are listed)` : ''),
      { rows: bad, bad_rows: badCount },
    );
  }
  if (!good) throw badRequest('invalid_examples', 'the upload has no rows');
  return good;
}

/** The request's chunks, refused with a 413 once they pass `maxBytes` (a streamed upload of any kind). */
export async function* limited(req: IncomingMessage, maxBytes: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume(); // drain the rest, so the 413 reaches the client
      throw tooLarge(maxBytes);
    }
    yield chunk;
  }
}

/** JSON Lines, split at newline bytes (so a character is never cut), each line parsed on its own. */
async function* jsonLines(source: AsyncIterable<Buffer>, maxLine: number): AsyncGenerator<Candidate> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let line = 0;
  const take = (piece: Buffer): Candidate | null => {
    line++;
    const bytes = pendingBytes + piece.length;
    const whole = tooLong || bytes > maxLine ? null : Buffer.concat([...pending, piece]);
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    if (!whole) return { line, error: `the line is longer than ${maxLine} bytes` };
    const text = whole.toString('utf8').trim();
    if (!text) return null;
    try {
      return { line, row: JSON.parse(text) };
    } catch (err) {
      return { line, error: `not valid JSON: ${(err as Error).message}` };
    }
  };
  for await (const chunk of source) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      const candidate = take(chunk.subarray(start, end));
      if (candidate) yield candidate;
      start = end + 1;
    }
    const rest = chunk.subarray(start);
    if (tooLong || pendingBytes + rest.length > maxLine) tooLong = true;
    else pending.push(rest);
    pendingBytes += rest.length;
  }
  if (pendingBytes || tooLong) {
    const candidate = take(Buffer.alloc(0));
    if (candidate) yield candidate;
  }
}

type Path = string[];

/** Where the CSV's columns go: input fields by path (`email.subject` for nested ones) and the output column. */
interface Mapping {
  inputs: Array<{ column: number; path: Path; type: unknown }>;
  /** One column that is the output (field null), or one column per field of the output object. */
  outputs: Array<{ column: number; field: string | null }>;
}

const listOf = (value: unknown): string[] | null =>
  typeof value === 'string' && value.trim() ? value.split(',').map((s) => s.trim()) : null;

/** The schema at a path of the input schema (null when the schema has no such field). */
function schemaAt(schema: JsonSchema, path: Path): JsonSchema | null {
  let at: JsonSchema | undefined = schema;
  for (const key of path) {
    const props = at?.properties as Record<string, JsonSchema> | undefined;
    at = props && Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
    if (!at) return null;
  }
  return at;
}

/** `?input=subject,body&output=label`, or by default the columns named like input fields and `output`/`label`. */
function mapColumns(header: string[], query: Record<string, unknown>, config: LoopAppConfig): Mapping {
  const column = (name: string) => {
    const at = header.indexOf(name);
    if (at < 0)
      throw badRequest('invalid_examples', `the CSV has no column '${name}' (it has ${header.join(', ')})`);
    return at;
  };
  const wanted =
    listOf(query.input) ?? header.filter((name) => schemaAt(config.input_schema, name.split('.')));
  const outputNames = listOf(query.output) ?? [
    ['output', 'label'].find((n) => header.includes(n) && !wanted.includes(n)),
  ];
  if (!wanted.length || !outputNames[0]) {
    throw badRequest(
      'invalid_examples',
      `say which CSV columns are the input and which the output: ?input=${header.slice(0, -1).join(',') || 'a,b'}&output=${header[header.length - 1] ?? 'label'}`,
    );
  }
  return {
    inputs: wanted.map((name) => {
      const path = name.split('.');
      return { column: column(name), path, type: schemaAt(config.input_schema, path)?.type };
    }),
    outputs: outputNames.map((name) => ({
      column: column(name!),
      field: outputNames.length > 1 ? name! : null,
    })),
  };
}

/** A CSV cell as the schema's type wants it (a cell that does not convert stays text: the schema check names it). */
function cell(text: string, type: unknown): unknown {
  if (type === 'number' || type === 'integer')
    return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  if (type === 'boolean') {
    const t = text.trim().toLowerCase();
    return ['true', '1', 'yes'].includes(t) ? true : ['false', '0', 'no'].includes(t) ? false : text;
  }
  return text;
}

/** A cell of the output as its schema wants it: a list of labels is `a|b` (or a JSON array). */
function outputCell(text: string, schema: JsonSchema | undefined): unknown {
  if (schema?.type !== 'array') return cell(text, schema?.type);
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return text; // the schema check names it
    }
  }
  return t ? t.split('|').map((label) => label.trim()) : [];
}

/**
 * The output columns as the output schema wants them: one column goes where the learner reads the label from
 * (learnableTarget), several each to their field.
 */
function outputOf(cells: Array<{ field: string | null; text: string }>, schema: JsonSchema): unknown {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const own = (field: string) =>
    Object.prototype.hasOwnProperty.call(props, field) ? props[field] : undefined;
  if (cells.length > 1) {
    const out = Object.create(null) as Record<string, unknown>;
    // an empty cell is no value, except for a list of labels: none
    for (const { field, text } of cells)
      if (text !== '' || own(field!)?.type === 'array') out[field!] = outputCell(text, own(field!));
    return { ...out };
  }
  const text = cells[0].text;
  let fields: string[] | null;
  try {
    fields = learnableTarget(schema).fields;
  } catch {
    return text; // not an output the learner knows: the schema check says what is wrong
  }
  if (fields === null) return outputCell(text, schema);
  // an object of several fields needs a column each (?output=a,b): the schema check says which are missing
  return fields.length === 1 ? { [fields[0]]: outputCell(text, own(fields[0])) } : text;
}

function setPath(target: Record<string, unknown>, path: Path, value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    if (!Object.prototype.hasOwnProperty.call(at, key))
      at[key] = Object.create(null) as Record<string, unknown>;
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
}

/** CSV with a header row (csv-parse: quotes, embedded newlines, CRLF, a BOM), mapped to `{input, output}` rows. */
async function* csvRows(
  source: AsyncIterable<Buffer>,
  query: Record<string, unknown>,
  config: LoopAppConfig,
  maxRecord: number,
): AsyncGenerator<Candidate> {
  const parser = parseCsv({
    bom: true,
    info: true,
    max_record_size: maxRecord,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
  });
  const feeding = (async () => {
    for await (const chunk of source) if (!parser.write(chunk)) await once(parser, 'drain');
    parser.end();
  })().catch((err: unknown) => parser.destroy(err as Error));
  let mapping: Mapping | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (!mapping) {
        mapping = mapColumns(record, query, config);
        continue;
      }
      const input = Object.create(null) as Record<string, unknown>;
      for (const { column, path, type } of mapping.inputs) {
        if (record[column] !== undefined && record[column] !== '')
          setPath(input, path, cell(record[column], type));
      }
      const cells = mapping.outputs.map(({ column, field }) => ({ field, text: record[column] }));
      yield cells.some((c) => c.text === undefined)
        ? { line: info.lines, error: `the row has ${record.length} columns, the header more` }
        : { line: info.lines, row: { input: { ...input }, output: outputOf(cells, config.output_schema) } };
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const e = err as Error & { lines?: number };
    throw badRequest(
      'invalid_examples',
      `the CSV cannot be read${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}; nothing was stored`,
    );
  } finally {
    await feeding;
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    'body_too_large',
    `the upload is larger than the limit of ${limit} bytes (max_examples_bytes in settings); split it into several uploads`,
  );
}
