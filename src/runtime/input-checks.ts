import Ajv from 'ajv';
import { badRequest } from '../domain/errors';
import { VERSION_FILE_NAME } from '../domain/ids';
import { settingsPatchSchema, specSchema } from '../domain/schemas';
import type { LoopAppConfig } from '../domain/types';
import { RecordError } from '../store/files';
import { compileSchemas, describeAjvErrors, type SchemaValidators } from './app-config';

/** A program as a person or a generator hands it in: program.js plus the files it reads. */
export interface ProgramUpload {
  code: string;
  files?: Record<string, string>;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSpec = ajv.compile(specSchema);
const validatePatch = ajv.compile(settingsPatchSchema);

/** A settings patch (any subset of the settings); 400 listing what is wrong. */
export function checkSettingsPatch(patch: unknown): void {
  if (!validatePatch(patch)) {
    throw badRequest('invalid_settings', 'some settings are invalid', {
      errors: describeAjvErrors(validatePatch.errors),
    });
  }
}

/**
 * A creation body's spec and settings (what else it carries, a program or examples, is left out), checked and
 * its schemas compiled: the config to write. 400 saying what to fix.
 */
export function checkSpec(body: Record<string, unknown>): LoopAppConfig {
  const { program: _program, examples: _examples, generate: _generate, ...rest } = body;
  const specKeys = Object.keys(specSchema.properties);
  const spec = Object.fromEntries(Object.entries(rest).filter(([k]) => specKeys.includes(k)));
  const settings = Object.fromEntries(Object.entries(rest).filter(([k]) => !specKeys.includes(k)));
  if (!validateSpec(spec)) {
    throw badRequest('invalid_spec', 'the Loop App spec is invalid', {
      errors: describeAjvErrors(validateSpec.errors),
    });
  }
  if (Object.keys(settings).length) checkSettingsPatch(settings);
  try {
    compileSchemas(spec as unknown as LoopAppConfig).compileNow();
  } catch (err) {
    throw badRequest('invalid_schema', (err as Error).message);
  }
  return { ...spec, ...settings } as unknown as LoopAppConfig;
}

/** A program upload must be code plus plainly named text files; 400 saying what to fix. */
export function checkUpload(upload: ProgramUpload): void {
  if (!upload || typeof upload.code !== 'string' || !upload.code.trim()) {
    throw badRequest(
      'invalid_upload',
      'send the program as {"code": "function execute(input) { … }", "files": {…}}',
    );
  }
  for (const [name, text] of Object.entries(upload.files ?? {})) {
    if (
      !VERSION_FILE_NAME.test(name) ||
      name === 'program.js' ||
      name === 'metadata.json' ||
      typeof text !== 'string'
    ) {
      throw badRequest(
        'invalid_upload',
        `file '${name}' must have a plain name (letters, digits, . _ -) and text content`,
      );
    }
  }
}

export interface RowError {
  path: string;
  message: string;
}

/** What is wrong with one labelled row: an `{input, output}` object whose two parts match the schemas. */
export function exampleErrors(row: unknown, validators: SchemaValidators): RowError[] {
  if (!isPlainObject(row) || !('input' in row) || !('output' in row))
    return [{ path: '/', message: 'must be an object with "input" and "output"' }];
  const at = (prefix: string, errors: RowError[]) =>
    errors.map((e) => ({ ...e, path: `${prefix}${e.path === '/' ? '' : e.path}` }));
  return [
    ...(validators.validateInput(row.input)
      ? []
      : at('/input', describeAjvErrors(validators.validateInput.errors))),
    ...(validators.validateOutput(row.output)
      ? []
      : at('/output', describeAjvErrors(validators.validateOutput.errors))),
  ];
}

/**
 * Checks labelled rows against the app's schemas: every bad row is listed by index, and nothing is written
 * unless all are good.
 */
export function checkExamples(
  spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>,
  rows: unknown,
  validators = compileSchemas(spec),
): Array<{ input: unknown; output: unknown }> {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw badRequest(
      'invalid_examples',
      'send a non-empty JSON array (or JSONL) of {"input": …, "output": …}',
    );
  }
  const bad: Array<{ index: number; errors: RowError[] }> = [];
  rows.forEach((row, index) => {
    const errors = exampleErrors(row, validators);
    if (errors.length) bad.push({ index, errors });
  });
  if (bad.length) {
    throw badRequest(
      'invalid_examples',
      `${bad.length} of ${rows.length} examples do not match the schemas; nothing was stored`,
      {
        rows: bad.slice(0, 1000),
      },
    );
  }
  return rows.map((r) => ({ input: r.input, output: r.output }));
}

/** A row that passed the schemas yet cannot be written as JSON (nested too deeply) is a 400 naming it. */
export function unstorableExample(err: unknown): unknown {
  if (!(err instanceof RecordError)) return err;
  const message = `cannot be written as JSON (${err.reason}); nothing was stored`;
  return badRequest('invalid_examples', `example ${err.index} ${message}`, {
    rows: [{ index: err.index, errors: [{ path: '/', message }] }],
  });
}
