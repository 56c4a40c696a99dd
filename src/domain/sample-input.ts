import type { JsonSchema } from './types';

/**
 * A small value that satisfies common JSON Schemas (required properties, enums, types): used to self-check a
 * program when it loads, before it may replace a working one.
 */
export function sampleFor(schema: JsonSchema | undefined): unknown {
  if (!schema) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((k) => [k, sampleFor(props[k])]));
    }
    case 'array':
      return [];
    case 'string':
      return 'x'.repeat(Number(schema.minLength ?? 1));
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 0);
    case 'boolean':
      return false;
    default:
      return null;
  }
}
