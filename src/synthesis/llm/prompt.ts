import type { LoopAppSpec } from '../../domain/types';
import { canonical } from '../evaluate';
import type { Labelled, Scored } from '../generator';

/** How many labelled rows the first prompt shows, failures a repair prompt shows, and characters a string keeps. */
export const MAX_PROMPT_EXAMPLES = 40;
export const MAX_REPAIR_FAILURES = 15;
export const MAX_STRING = 400;

/** The contract of program.js (docs/ARCHITECTURE.md, "Contracts") as the LLM is told it. */
export const SYSTEM_PROMPT = `You write program.js: a small, fast, deterministic JavaScript program that replaces an LLM call for one task.

The contract:
- A plain script in pure JavaScript (ES2020). No modules: no require, no import, no export.
- It runs in an isolated sandbox with no host access: no process, fs, network (fetch, XMLHttpRequest), timers
  (setTimeout, setInterval), eval, Function, WebAssembly. Code that uses them is rejected.
- It must define a top-level function:
    function execute(input) { ...; return { result: ..., confidence: 0.9, reason: '...' }; }
  \`input\` matches the input JSON Schema. \`result\` must match the output JSON Schema exactly (same types,
  same enum spellings). \`confidence\` (a number from 0 to 1) and \`reason\` (a short string) are optional.
- Deterministic: the same input always gives the same answer (no Math.random, no Date).
- Each call has a few milliseconds and little memory; precompute tables and regular expressions once at the
  top level, outside execute.
- A read-only object \`loopai.files\` exists, but your program gets no files: put everything it needs in the code.
- Handle missing or odd fields without throwing.

Generalise from the examples with rules, keyword lists, regular expressions and simple scoring: the program will
be scored on inputs it has not seen, so do not just memorise the examples.

Answer with the whole program in one \`\`\`javascript code block.`;

/** A copy of a value with long strings cut, so one huge example cannot fill the prompt. */
export function clip(value: unknown, max = MAX_STRING): unknown {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…` : value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => clip(v, max));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v, max)]));
  return value;
}

/** Up to `max` rows, taking from each output value in turn so every class is shown (first-seen order). */
export function balancedSample(rows: Labelled[], max = MAX_PROMPT_EXAMPLES): Labelled[] {
  const groups = new Map<string, Labelled[]>();
  for (const row of rows) {
    const key = canonical(row.output);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const out: Labelled[] = [];
  const limit = Math.min(max, rows.length);
  for (let i = 0; out.length < limit; i++) {
    for (const group of groups.values()) if (i < group.length && out.length < limit) out.push(group[i]);
  }
  return out;
}

/** The first user message: task, schemas and a balanced sample of the labelled rows. */
export function buildUserPrompt(spec: LoopAppSpec, train: Labelled[]): string {
  const shown = balancedSample(train);
  const examples = shown
    .map((r) => JSON.stringify({ input: clip(r.input), output: clip(r.output) }))
    .join('\n');
  const name = spec.name ? `Name: ${spec.name}\n` : '';
  return `${name}Task: ${spec.task}

Input JSON Schema (what execute receives):
${JSON.stringify(spec.input_schema)}

Output JSON Schema (what execute(input).result must match):
${JSON.stringify(spec.output_schema)}

Labelled examples, ${shown.length} of ${train.length}, one JSON object a line:
${examples || '(none)'}

Write program.js.`;
}

/** The repair message: what went wrong on which rows, and a request for the whole corrected program. */
export function buildRepairPrompt(scored: Scored): string {
  const wrong = scored.failures.length;
  const lines = scored.failures.slice(0, MAX_REPAIR_FAILURES).map((f) =>
    JSON.stringify({
      input: clip(f.input),
      expected: clip(f.expected),
      ...(f.error ? { error: f.error } : { got: f.got === undefined ? '(undefined)' : clip(f.got) }),
    }),
  );
  const shown = wrong > lines.length ? ` (the first ${lines.length})` : '';
  return `The program got ${wrong} of ${scored.n} labelled examples wrong${shown}:
${lines.join('\n')}

Fix the program so it gets these right without breaking the others, and answer with the whole corrected program in one \`\`\`javascript block.`;
}

/** The message after an unusable reply. */
export const rejectionPrompt = (problem: string): string =>
  `That program cannot be used: ${problem}. Answer with the whole corrected program in one \`\`\`javascript block.`;

/** APIs a program must not touch: the sandbox has none of them, so code that reaches for them is wrong. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\brequire\s*\(/, 'require()'],
  [/^\s*(import|export)\s|\bimport\s*\(/m, 'import/export'],
  [/\bprocess\s*\./, 'process'],
  [/\bglobalThis\s*\.\s*constructor\b|\bconstructor\s*\.\s*constructor\b/, 'constructor escapes'],
  [/\bFunction\s*\(/, 'Function()'],
  [/\beval\s*\(/, 'eval()'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bfetch\s*\(|\bXMLHttpRequest\b|\bWebSocket\b/, 'network'],
  [/\bWebAssembly\b/, 'WebAssembly'],
];

/**
 * The code without comments, for the forbidden-API check only (a comment saying "no require()" is fine). A block
 * comment runs to its end or to the end of the code, so the scan is linear even with many unclosed `/*`.
 */
const withoutComments = (code: string): string =>
  code.replace(/\/\*(?:[^*]|\*(?!\/))*(?:\*\/|$)/g, ' ').replace(/(^|[\s;{}])\/\/[^\n]*/g, '$1');

/** The forbidden APIs a program uses (empty when none). */
export function forbiddenApis(code: string): string[] {
  const bare = withoutComments(code);
  return FORBIDDEN.filter(([pattern]) => pattern.test(bare)).map(([, name]) => name);
}

/**
 * The program in a reply: the fenced block that defines `execute` (else the first fenced block, else the whole
 * reply), or why it cannot be used.
 */
export function extractCode(reply: string): { code: string } | { problem: string } {
  const blocks = [...reply.matchAll(/```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g)].map((m) => m[2]);
  const hasExecute = (text: string) => /\bfunction\s+execute\s*\(|\bexecute\s*=\s*(function\b|\()/.test(text);
  const code = (blocks.find(hasExecute) ?? blocks[0] ?? reply).trim();
  if (!code) return { problem: 'the reply is empty' };
  if (!hasExecute(code)) return { problem: 'the reply has no `function execute(input)`' };
  const used = forbiddenApis(code);
  if (used.length) return { problem: `it uses APIs that do not exist in the sandbox: ${used.join(', ')}` };
  return { code };
}
