/** Small builders for the JSON Schemas of API answers. */
export const nullable = (type: string) => ({ type: [type, 'null'] });
export const integer = { type: 'integer', minimum: 0 };
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const list = (key: string, item: object) => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'array', items: item } },
});
