import fs from 'node:fs';
import yaml from 'js-yaml';
import { usageError } from './errors';

/** The text of a file, or of stdin for `-`. */
export function readText(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The size of a file that will be streamed (null for stdin); a usage error when it cannot be read. */
export function streamableSize(file: string): number | null {
  if (file === '-') return null;
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).size;
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A JSON argument given on the command line. */
export function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** Records of a file holding a JSON array, or JSONL (one JSON value per line; blank lines skipped). */
export function readRecords(file: string): unknown[] {
  const text = readText(file);
  if (text.trimStart().startsWith('[')) {
    const parsed = parseJsonArg(text, file);
    if (!Array.isArray(parsed)) throw usageError(`${file}: expected a JSON array`);
    return parsed;
  }
  const records: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      throw usageError(
        `${file} line ${i + 1} is not JSON (${(err as Error).message}); the file must hold a JSON array or one JSON value per line`,
      );
    }
  });
  if (!records.length) throw usageError(`${file} holds no records`);
  return records;
}

/** Labelled rows `{input, output}`, as `examples add` and `eval` read them. */
export function readLabelled(file: string): Array<{ input: unknown; output: unknown }> {
  const rows = readRecords(file);
  rows.forEach((row, i) => {
    if (!row || typeof row !== 'object' || !('input' in row) || !('output' in row))
      throw usageError(`${file} record ${i + 1} is not {"input": …, "output": …}`);
  });
  return rows as Array<{ input: unknown; output: unknown }>;
}

/** A YAML or JSON mapping (a Loop App spec). */
export function readMapping(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = yaml.load(readText(file), { filename: file });
  } catch (err) {
    throw usageError(`${file} is not JSON or YAML: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw usageError(`${file}: expected a mapping ({"loop_app_id": …, "task": …, …})`);
  return parsed as Record<string, unknown>;
}
