import OpenAI from 'openai';
import type { LoopAppSpec } from '../../domain/types';
import type { Candidate, GenerateContext, Generator, Scored } from '../generator';
import { describeLlmError } from './client';
import { buildRepairPrompt, buildUserPrompt, extractCode, rejectionPrompt, SYSTEM_PROMPT } from './prompt';

export interface LlmGeneratorOptions {
  model: string;
  /** Repair rounds after the first attempt (each one is one more LLM call). */
  repairRounds: number;
}

type Message = OpenAI.Chat.ChatCompletionMessageParam;

const percent = (accuracy: number) => `${(accuracy * 100).toFixed(1)} %`;

/** A program scored on the training rows in the sandbox, or why it does not load there. */
async function score(
  ctx: GenerateContext,
  code: string,
): Promise<{ code: string; scored: Scored } | { problem: string }> {
  try {
    return { code, scored: await ctx.evaluate({ code, files: {} }, ctx.train) };
  } catch (err) {
    // pool.load rejects a program that does not compile or does not define execute
    return { problem: `it does not load: ${(err as Error).message}` };
  }
}

/**
 * An LLM writes program.js under the contract; Loopai checks it, runs it on the training rows in the sandbox, feeds
 * the failures back in the same conversation for a bounded number of rounds, and keeps the best attempt.
 */
export class LlmGenerator implements Generator {
  readonly name = 'llm' as const;
  /** Cleared when the server refuses `temperature` (some reasoning models accept only the default). */
  private sendTemperature = true;

  constructor(
    private readonly client: OpenAI | null,
    private readonly options: LlmGeneratorOptions,
  ) {}

  unavailable(_spec: LoopAppSpec): string | null {
    if (this.client) return null;
    return 'no LLM is configured: set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for an OpenAI-compatible server (Ollama, vLLM, llama.cpp; add OPENAI_API_KEY if it needs one), and LOOPAI_LLM_MODEL for the model';
  }

  async generate(ctx: GenerateContext): Promise<Candidate> {
    const why = this.unavailable(ctx.spec);
    if (why) throw new Error(why);
    const messages: Message[] = [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: buildUserPrompt(ctx.spec, ctx.train) },
    ];
    const attempts = 1 + Math.max(0, this.options.repairRounds);
    let best: { code: string; accuracy: number; attempt: number } | null = null;
    let lastProblem = '';
    let made = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      made = attempt;
      ctx.progress(`llm: attempt ${attempt} of ${attempts} (${this.options.model})`);
      const { content, truncated } = await this.complete(messages);
      messages.push({ role: 'assistant', content });

      const extracted = extractCode(content);
      const outcome = 'problem' in extracted ? extracted : await score(ctx, extracted.code);
      if ('problem' in outcome) {
        // a reply cut off at the token limit is a problem of its length, whatever else went wrong with it
        const cutOff = truncated
          ? ' (the reply was cut off at the token limit: write a shorter program)'
          : '';
        lastProblem = outcome.problem + cutOff;
        ctx.progress(`llm: attempt ${attempt} unusable: ${lastProblem}`);
        messages.push({ role: 'user', content: rejectionPrompt(lastProblem) });
        continue;
      }
      const { code, scored } = outcome;
      ctx.progress(`llm: attempt ${attempt} scored ${percent(scored.accuracy)} on ${scored.n} training rows`);
      if (!best || scored.accuracy > best.accuracy) best = { code, accuracy: scored.accuracy, attempt };
      // nothing left to learn from: every row right, or no rows to check against
      if (scored.accuracy >= 1 || scored.n === 0 || scored.failures.length === 0) break;
      if (attempt < attempts) messages.push({ role: 'user', content: buildRepairPrompt(scored) });
    }

    if (!best) {
      throw new Error(
        `the LLM (${this.options.model}) wrote no usable program in ${made} attempt${made === 1 ? '' : 's'}; last problem: ${lastProblem}`,
      );
    }
    return {
      generator: 'llm',
      code: best.code,
      files: {},
      notes: `${made} attempt${made === 1 ? '' : 's'}, best train accuracy ${best.accuracy.toFixed(3)} (attempt ${best.attempt}, model ${this.options.model})`,
    };
  }

  /** One chat completion; API failures (after the SDK's retries) become an Error that says what to fix. */
  private async complete(messages: Message[]): Promise<{ content: string; truncated: boolean }> {
    const client = this.client!;
    const request = (withTemperature: boolean) =>
      client.chat.completions.create({
        model: this.options.model,
        messages,
        ...(withTemperature ? { temperature: 0 } : {}),
      });
    try {
      let completion;
      try {
        completion = await request(this.sendTemperature);
      } catch (err) {
        if (!(
          this.sendTemperature &&
          err instanceof OpenAI.BadRequestError &&
          /temperature/i.test(err.message)
        ))
          throw err;
        this.sendTemperature = false;
        completion = await request(false);
      }
      const choice = completion.choices?.[0];
      return { content: choice?.message?.content ?? '', truncated: choice?.finish_reason === 'length' };
    } catch (err) {
      throw new Error(describeLlmError(err, { client, model: this.options.model }), { cause: err });
    }
  }
}
