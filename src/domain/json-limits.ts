/**
 * Bounds checked before any work is done on user JSON: nesting depth (deep values overflow the stack of every
 * recursive walk after the parser: serialisation, privacy, schema checks) and, for schemas, size.
 */

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of objects and arrays in JSON text, read in one pass without parsing. */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > deepest) deepest = depth;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

/** Walks a value without recursion; stops early once `maxDepth` or `maxNodes` is passed. */
export function measureValue(
  value: unknown,
  maxDepth: number,
  maxNodes: number,
): { depth: number; nodes: number; shared: boolean; longestEnum: number } {
  const seen = new Set<object>();
  const stack: Array<[unknown, number]> = [[value, 1]];
  let depth = 0;
  let nodes = 0;
  let longestEnum = 0;
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (++nodes > maxNodes) break;
    if (v === null || typeof v !== 'object') continue;
    if (d > depth && (depth = d) > maxDepth) break;
    // the same object reached twice: a YAML alias (`*name`), whose expansion can be exponential
    if (seen.has(v)) return { depth, nodes, shared: true, longestEnum };
    seen.add(v);
    const values = (v as { enum?: unknown }).enum;
    if (Array.isArray(values) && values.length > longestEnum) longestEnum = values.length;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return { depth, nodes, shared: false, longestEnum };
}

/** Limits on what a person or a client may hand the schema compiler (ajv's enum checks are quadratic). */
export const SCHEMA_LIMITS = { maxNodes: 10_000, maxDepth: 32, maxEnum: 1_000 };
/** Limits on config.yaml as a whole, checked before it is parsed and right after. */
export const CONFIG_LIMITS = { maxBytes: 1024 * 1024, maxNodes: 50_000, maxDepth: 64 };

/** Throws an Error saying what to fix when a JSON Schema is larger, deeper or has longer enums than allowed. */
export function checkSchemaBounds(name: string, schema: unknown): void {
  const { maxNodes, maxDepth, maxEnum } = SCHEMA_LIMITS;
  const size = measureValue(schema, maxDepth, maxNodes);
  if (size.shared)
    throw new Error(`${name} reuses one object in two places (a YAML alias); write it out in full`);
  if (size.nodes > maxNodes) throw new Error(`${name} has more than ${maxNodes} values; make it smaller`);
  if (size.depth > maxDepth) throw new Error(`${name} nests deeper than ${maxDepth} levels`);
  if (size.longestEnum > maxEnum)
    throw new Error(`${name} has an enum of ${size.longestEnum} values; at most ${maxEnum} are allowed`);
}

/**
 * config.yaml before and after parsing: its size, and a value tree without aliases (an 876-byte file of nested
 * `*alias` references once expanded to a tree that took the schema checks minutes to walk).
 */
export function checkConfigText(text: string): void {
  if (text.length > CONFIG_LIMITS.maxBytes)
    throw new Error(`config.yaml is ${text.length} bytes; at most ${CONFIG_LIMITS.maxBytes} are allowed`);
}

export function checkConfigValue(value: unknown): void {
  const { maxNodes, maxDepth } = CONFIG_LIMITS;
  const size = measureValue(value, maxDepth, maxNodes);
  if (size.shared)
    throw new Error(
      'config.yaml uses YAML aliases (*name) for objects or lists; write the values out in full',
    );
  if (size.nodes > maxNodes) throw new Error(`config.yaml has more than ${maxNodes} values`);
  if (size.depth > maxDepth) throw new Error(`config.yaml nests deeper than ${maxDepth} levels`);
}
