import yaml from 'js-yaml';
import cron from 'node-cron';
import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { checkConfigText, checkConfigValue, checkSchemaBounds } from '../domain/json-limits';
import { configSchema, withDefaults } from '../domain/schemas';
import type { LoopAppConfig } from '../domain/types';
import { canonical } from '../synthesis/evaluate';

/** One Ajv for user schemas: lenient about unknown keywords people put in schemas, strict about data. */
export const userAjv = new Ajv({ allErrors: true, strict: false });
addFormats(userAjv);
const validateConfigShape = new Ajv({ allErrors: true, strict: false }).compile(configSchema);

export function describeAjvErrors(
  errors: ErrorObject[] | null | undefined,
): Array<{ path: string; message: string }> {
  return (errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message: `${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : ''}`,
  }));
}

const schemasOf = (spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>) =>
  canonical([spec.input_schema, spec.output_schema]);

/**
 * Compiled validators by the canonical JSON of their schema, shared by every app with that schema (10,000 copies of
 * one app compile it once), and counted, so that the last app to let one go frees its code.
 */
const compiled = new Map<string, { schema: object; validate: ValidateFunction; users: number }>();

function acquire(name: string, schema: object): ValidateFunction {
  const key = canonical(schema);
  let entry = compiled.get(key);
  if (!entry) {
    try {
      entry = { schema, validate: userAjv.compile(schema), users: 0 };
    } catch (err) {
      throw new Error(`${name} is not a valid JSON Schema: ${(err as Error).message}`);
    }
    compiled.set(key, entry);
  }
  entry.users += 1;
  return entry.validate;
}

function letGo(schema: object): void {
  const key = canonical(schema);
  const entry = compiled.get(key);
  if (!entry || --entry.users > 0) return;
  compiled.delete(key);
  userAjv.removeSchema(entry.schema);
}

/**
 * The input and output validators of an app, compiled on first use: compiled Ajv code costs tens of KB a schema,
 * and most apps on disk may never be called. Schemas are checked against the meta-schema up front.
 */
export class SchemaValidators {
  /** Both schemas as canonical JSON: a config with the same text here can keep these validators. */
  readonly schemas: string;
  private input: ValidateFunction | null = null;
  private output: ValidateFunction | null = null;
  private released = false;

  constructor(
    private readonly spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>,
    schemas = schemasOf(spec),
  ) {
    for (const name of ['input_schema', 'output_schema'] as const) {
      checkSchemaBounds(name, spec[name]);
      if (!userAjv.validateSchema(spec[name])) {
        throw new Error(`${name} is not a valid JSON Schema: ${userAjv.errorsText(userAjv.errors)}`);
      }
    }
    this.schemas = schemas;
  }

  get validateInput(): ValidateFunction {
    return (this.input ??= this.take('input_schema', this.spec.input_schema));
  }

  get validateOutput(): ValidateFunction {
    return (this.output ??= this.take('output_schema', this.spec.output_schema));
  }

  /** A validator, counted while these validators are in use (a call still running after release counts none). */
  private take(name: string, schema: object): ValidateFunction {
    const validate = acquire(name, schema);
    if (this.released) letGo(schema);
    return validate;
  }

  /** Compiles both now (for a new spec, whose errors should surface before anything is written). */
  compileNow(): this {
    void this.validateInput;
    void this.validateOutput;
    return this;
  }

  /** Lets the compiled code go when the config is replaced, so reloads do not grow memory. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.input) letGo(this.spec.input_schema);
    if (this.output) letGo(this.spec.output_schema);
  }
}

/** Schedules known to be cron expressions: apps share a few, and node-cron takes ~30 µs to check one. */
const validSchedules = new Set<string>();

function isCronExpression(schedule: string): boolean {
  if (validSchedules.has(schedule)) return true;
  if (!cron.validate(schedule)) return false;
  if (validSchedules.size < 1000) validSchedules.add(schedule);
  return true;
}

export interface CheckedConfig {
  config: LoopAppConfig;
  validators: SchemaValidators;
}

/**
 * Parses and checks `config.yaml` text; throws an Error saying what to fix. The validators of the config it
 * replaces are kept when its schemas are the same (a settings edit compiles nothing).
 */
export function checkConfig(appId: string, text: string, previous?: SchemaValidators): CheckedConfig {
  checkConfigText(text);
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch (err) {
    throw new Error(`config.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  checkConfigValue(raw);
  if (!validateConfigShape(raw)) {
    const why = describeAjvErrors(validateConfigShape.errors).map((e) => `${e.path} ${e.message}`);
    throw new Error(`config.yaml does not match its schema: ${why.join('; ')}`);
  }
  const config = withDefaults(raw as unknown as Record<string, unknown>);
  if (config.loop_app_id !== appId) {
    throw new Error(`config.yaml says loop_app_id '${config.loop_app_id}' but its folder is '${appId}'`);
  }
  if (!isCronExpression(config.validation.schedule)) {
    throw new Error(
      `validation.schedule '${config.validation.schedule}' is not a cron expression (e.g. "*/5 * * * *": every 5 minutes)`,
    );
  }
  if (config.validation.oracle === 'http' && !config.validation.http) {
    throw new Error('validation.oracle is http: set validation.http.url to the teacher endpoint');
  }
  const schemas = schemasOf(config);
  const validators = previous?.schemas === schemas ? previous : new SchemaValidators(config, schemas);
  return { config, validators };
}

export const compileSchemas = (spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>) =>
  new SchemaValidators(spec);
