import type OpenAI from 'openai';
import type { LoopAppSpec } from '../../domain/types';
import type { Candidate, GenerateContext, Generator, Labelled } from '../generator';
import { describeLlmError } from './client';

const MAX_PROMPT_EXAMPLES = 40;
const MAX_REPAIR_FAILURES = 15;
const MAX_STRING = 400;

/** APIs a program must not touch (the sandbox has none of them; code that reaches for them is wrong). */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\brequire\s*\(/, 'require()'],
  [/^\s*import\s|\bimport\s*\(/m, 'import'],
  [/\bprocess\s*\./, 'process'],
  [/\bglobalThis\s*\.\s*constructor\b|\bconstructor\s*\.\s*constructor\b/, 'constructor escapes'],
  [/\bFunction\s*\(/, 'Function()'],
  [/\beval\s*\(/, 'eval()'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bfetch\s*\(|\bXMLHttpRequest\b|\bWebSocket\b/, 'network'],
  [/\bWebAssembly\b/, 'WebAssembly'],
];

const SYSTEM = `You write small, fast, deterministic JavaScript programs that replace an LLM call for one task.
The program is a plain script (ES2020, no modules) run in an isolated sandbox with no require, import, process,
network, timers, eval or file system. It must define:

  function execute(input) { ...; return { result: <value matching the output JSON Schema>, confidence: <0..1> }; }

Use rules, keyword lists, regular expressions and simple scoring learned from the examples. Answer with one
\`\`\`javascript code block holding the whole program, nothing else.`;

const clip = (value: unknown): unknown =>
  typeof value === 'string' && value.length > MAX_STRING
    ? value.slice(0, MAX_STRING) + '…'
    : Array.isArray(value)
      ? value.map(clip)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v)]))
        : value;

/** Up to `max` rows, taking from each output value in turn so every class is shown. */
function balanced(rows: Labelled[], max: number): Labelled[] {
  const groups = new Map<string, Labelled[]>();
  for (const row of rows) {
    const key = JSON.stringify(row.output);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const out: Labelled[] = [];
  for (let i = 0; out.length < Math.min(max, rows.length); i++) {
    for (const group of groups.values()) if (i < group.length && out.length < max) out.push(group[i]);
  }
  return out;
}

export function buildPrompt(spec: LoopAppSpec, train: Labelled[]): string {
  const examples = balanced(train, MAX_PROMPT_EXAMPLES)
    .map((r) => JSON.stringify({ input: clip(r.input), output: r.output }))
    .join('\n');
  return `Task: ${spec.task}

Input JSON Schema:
${JSON.stringify(spec.input_schema)}

Output JSON Schema (execute(input).result must match it):
${JSON.stringify(spec.output_schema)}

Labelled examples (one JSON object a line):
${examples}

Write program.js.`;
}

/** The code of a reply (the first fenced block, else the whole reply), or why it cannot be used. */
export function extractCode(reply: string): { code: string } | { problem: string } {
  const fenced = /```(?:javascript|js)?[^\n]*\n([\s\S]*?)```/i.exec(reply);
  const code = (fenced ? fenced[1] : reply).trim();
  if (!/function\s+execute\s*\(/.test(code)) return { problem: 'the reply has no `function execute(input)`' };
  const used = FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, name]) => name);
  if (used.length)
    return { problem: `the program uses APIs that do not exist in the sandbox: ${used.join(', ')}` };
  return { code };
}

/** An LLM writes program.js; Loopai runs it on the examples, feeds the failures back, and keeps the best. */
export class LlmGenerator implements Generator {
  readonly name = 'llm' as const;

  constructor(
    private readonly client: OpenAI | null,
    private readonly options: { model: string; repairRounds: number },
  ) {}

  unavailable(_spec: LoopAppSpec): string | null {
    return this.client
      ? null
      : 'no LLM is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM or another OpenAI-compatible server, LOOPAI_LLM_MODEL for the model).';
  }

  async generate(ctx: GenerateContext): Promise<Candidate> {
    const client = this.client;
    if (!client) throw new Error(this.unavailable(ctx.spec)!);
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: buildPrompt(ctx.spec, ctx.train) },
    ];
    let best: { code: string; accuracy: number } | null = null;
    let lastProblem = '';
    const attempts = 1 + this.options.repairRounds;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      ctx.progress(`llm: attempt ${attempt} of ${attempts} (${this.options.model})`);
      let reply: string;
      const started = Date.now();
      try {
        const completion = await client.chat.completions.create({
          model: this.options.model,
          messages,
          temperature: 0,
        });
        reply = completion.choices[0]?.message?.content ?? '';
      } catch (err) {
        throw new Error(describeLlmError(err, client, Date.now() - started));
      }
      messages.push({ role: 'assistant', content: reply });
      const extracted = extractCode(reply);
      let feedback: string;
      if ('problem' in extracted) {
        lastProblem = extracted.problem;
        feedback = `That cannot be used: ${extracted.problem}. Answer with the whole corrected program in one \`\`\`javascript block.`;
      } else {
        try {
          const scored = await ctx.evaluate({ code: extracted.code, files: {} }, ctx.train);
          ctx.progress(
            `llm: attempt ${attempt} scored ${(scored.accuracy * 100).toFixed(1)} % on the examples`,
          );
          if (!best || scored.accuracy > best.accuracy)
            best = { code: extracted.code, accuracy: scored.accuracy };
          if (scored.accuracy === 1) break;
          const failures = scored.failures
            .slice(0, MAX_REPAIR_FAILURES)
            .map((f) =>
              JSON.stringify({
                input: clip(f.input),
                expected: f.expected,
                got: f.error ? `error: ${f.error}` : f.got,
              }),
            )
            .join('\n');
          feedback = `The program got ${scored.failures.length} of ${scored.n} examples wrong:\n${failures}\nFix it and answer with the whole corrected program in one \`\`\`javascript block.`;
        } catch (err) {
          lastProblem = `it does not compile or run: ${(err as Error).message}`;
          feedback = `That program fails to load: ${(err as Error).message}. Answer with the whole corrected program in one \`\`\`javascript block.`;
        }
      }
      messages.push({ role: 'user', content: feedback });
    }
    if (!best)
      throw new Error(`the LLM gave no usable program in ${attempts} attempts; last problem: ${lastProblem}`);
    return {
      generator: 'llm',
      code: best.code,
      files: {},
      notes: `best of up to ${attempts} attempts, ${(best.accuracy * 100).toFixed(1)} % on the examples it saw`,
    };
  }
}
