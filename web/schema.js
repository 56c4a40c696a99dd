// What the pages derive from an app's JSON Schemas: a sample input to start from, and the right control for
// a person's answer.
import { h, pretty } from './dom.js';

/** The type a value of `type` (a JSON Schema `type`: one name or a list) is made as: the first that is not null. */
export const firstType = (type) => (Array.isArray(type) ? (type.find((t) => t !== 'null') ?? type[0]) : type);

/** A value that fits `schema` as far as a form would fill it in: examples and defaults first, else blanks. */
export function sampleFromSchema(schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 6) return null;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const variant = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (variant) return sampleFromSchema(variant, depth + 1);
  switch (firstType(schema.type) ?? (schema.properties ? 'object' : undefined)) {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, prop]) => [
          name,
          sampleFromSchema(prop, depth + 1),
        ]),
      );
    case 'array':
      return [];
    case 'string':
      return schema.format === 'email' ? 'someone@example.com' : '';
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

/**
 * Where an answer is one label: the schema's own enum, or an object with a single enum field
 * (`{category: work | personal}`). Returns `{values, wrap(label) → answer, unwrap(answer) → label}` or null.
 */
export function labelChoice(schema) {
  if (Array.isArray(schema?.enum)) return { values: schema.enum, wrap: (v) => v, unwrap: (v) => v };
  const props = Object.entries(schema?.properties ?? {});
  if (firstType(schema?.type) === 'object' && props.length === 1 && Array.isArray(props[0][1]?.enum)) {
    const [field, prop] = props[0];
    return { values: prop.enum, wrap: (v) => ({ [field]: v }), unwrap: (v) => v?.[field] };
  }
  return null;
}

/**
 * The control for a person's answer to a sample: a select of the labels when the output is a label, else a JSON
 * text area; both start at the program's own answer. `read()` gives the answer or throws a readable error.
 */
export function answerControl(outputSchema, programOutput, id) {
  const choice = labelChoice(outputSchema);
  if (choice) {
    const current = choice.unwrap(programOutput);
    const select = h(
      'select',
      { id },
      choice.values.map((v) => h('option', { value: JSON.stringify(v), selected: v === current }, String(v))),
    );
    return { element: select, read: () => choice.wrap(JSON.parse(select.value)) };
  }
  const area = h('textarea', {
    id,
    rows: 4,
    spellcheck: 'false',
    class: 'code-input',
    value: pretty(programOutput),
  });
  return {
    element: area,
    read: () => {
      try {
        return JSON.parse(area.value);
      } catch (err) {
        throw new Error(`the answer is not valid JSON: ${err.message}`);
      }
    },
  };
}
