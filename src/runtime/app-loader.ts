import yaml from 'js-yaml';
import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { configSchema, withDefaults } from '../domain/schemas';
import type { LoopAppConfig } from '../domain/types';

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

export interface CheckedConfig {
  config: LoopAppConfig;
  validateInput: ValidateFunction;
  validateOutput: ValidateFunction;
}

/** Parses and checks `config.yaml` text; throws an Error saying what to fix. Compiles the validators once. */
export function checkConfig(appId: string, text: string): CheckedConfig {
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch (err) {
    throw new Error(`config.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!validateConfigShape(raw)) {
    const why = describeAjvErrors(validateConfigShape.errors).map((e) => `${e.path} ${e.message}`);
    throw new Error(`config.yaml does not match its schema: ${why.join('; ')}`);
  }
  const config = withDefaults(raw as unknown as Record<string, unknown>);
  if (config.loop_app_id !== appId) {
    throw new Error(`config.yaml says loop_app_id '${config.loop_app_id}' but its folder is '${appId}'`);
  }
  return { config, ...compileSchemas(config) };
}

export function compileSchemas(spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>): {
  validateInput: ValidateFunction;
  validateOutput: ValidateFunction;
} {
  const compile = (name: string, schema: object) => {
    try {
      return userAjv.compile(schema);
    } catch (err) {
      throw new Error(`${name} is not a valid JSON Schema: ${(err as Error).message}`);
    }
  };
  return {
    validateInput: compile('input_schema', spec.input_schema),
    validateOutput: compile('output_schema', spec.output_schema),
  };
}

/** Drops compiled validators from Ajv's cache when a config is replaced, so reloads do not grow memory. */
export function releaseSchemas(spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>): void {
  userAjv.removeSchema(spec.input_schema);
  userAjv.removeSchema(spec.output_schema);
}
