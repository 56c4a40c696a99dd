import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import type { LoopAppConfig } from '../domain/types';
import { describeAjvErrors } from '../runtime/app-config';
import type { LiveApp } from '../runtime/registry';
import { describeLlmError } from '../synthesis/llm/client';

/** Why an oracle gave no usable answer. Nothing is recorded for the sample: it stays pending. */
export class OracleError extends Error {
  override name = 'OracleError';
}

/** The source of truth a sample is checked against. `human` has no code: its answers come as feedback. */
export interface Oracle {
  /** The right output for an input, valid under the app's output schema; throws OracleError. */
  label(app: LiveApp, input: unknown): Promise<unknown>;
}

/** Attempts per sample: a garbage answer or a failed request is asked again, with growing pauses. */
const ATTEMPTS = 3;
const BACKOFF_MS = 250;

/** A failure worth another try, after `waitMs` (0: the usual backoff). */
class RetryableError extends OracleError {
  constructor(
    message: string,
    readonly waitMs = 0,
  ) {
    super(message);
  }
}

/** Why an oracle stopped asking: the server is shutting down (the sample stays pending). */
const stopped = () => new OracleError('the oracle was stopped: the server is shutting down');

/** `work`, or the OracleError of `signal` as soon as it aborts (whatever `work` still waits for). */
function unlessStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Tries `attempt` up to ATTEMPTS times; the pauses between end at once when `signal` aborts. */
async function withRetries<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let i = 1; ; i++) {
    if (signal.aborted) throw stopped();
    try {
      return await unlessStopped(attempt(), signal);
    } catch (err) {
      if (i >= ATTEMPTS || !(err instanceof RetryableError)) throw err;
      const ms = err.waitMs || BACKOFF_MS * 2 ** (i - 1) * (0.75 + Math.random() / 2);
      await sleep(ms, undefined, { signal }).catch(() => {
        throw stopped();
      });
    }
  }
}

/** An answer must fit the output schema, or it is garbage (and not a verdict). */
function checked(app: LiveApp, output: unknown, source: string): unknown {
  if (!app.validators.validateOutput(output)) {
    const why = describeAjvErrors(app.validators.validateOutput.errors)
      .map((e) => `${e.path} ${e.message}`)
      .join('; ');
    throw new RetryableError(
      `${source} answered ${JSON.stringify(output)?.slice(0, 200)}, which violates output_schema: ${why}`,
    );
  }
  return output;
}

/**
 * An OpenAI-compatible model asked for the output under the output schema (structured output, falling back to
 * JSON mode for servers without it); the answer is checked with ajv. Transport retries (429, 5xx, timeouts) are
 * the SDK's; answers that do not parse or fit are asked again here.
 */
export class LlmOracle implements Oracle {
  private jsonModeOnly = false;

  constructor(
    private readonly client: OpenAI | null,
    private readonly model: string,
    /** Aborted at shutdown: requests and pauses end at once. */
    private readonly signal: AbortSignal,
  ) {}

  async label(app: LiveApp, input: unknown): Promise<unknown> {
    const client = this.client;
    if (!client) {
      throw new OracleError(
        'no LLM is configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for Ollama, vLLM …), or set validation.oracle to http or human',
      );
    }
    return withRetries(() => this.ask(client, app, input), this.signal);
  }

  private async ask(client: OpenAI, app: LiveApp, input: unknown): Promise<unknown> {
    const schema = {
      type: 'object',
      properties: { output: app.config.output_schema },
      required: ['output'],
      additionalProperties: false,
    };
    const messages = prompt(app.config, input);
    let content: string | null | undefined;
    try {
      const response = await client.chat.completions.create(
        {
          model: this.model,
          messages,
          temperature: 0,
          response_format: this.jsonModeOnly
            ? { type: 'json_object' }
            : { type: 'json_schema', json_schema: { name: 'oracle_answer', schema, strict: false } },
        },
        { signal: this.signal },
      );
      content = response.choices[0]?.message?.content;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 400 && !this.jsonModeOnly && /response_format|json_schema/i.test(String(err))) {
        this.jsonModeOnly = true; // this server has JSON mode but no structured output
        return this.ask(client, app, input);
      }
      throw new OracleError(
        `the LLM oracle's request failed: ${describeLlmError(err, { model: this.model })}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(content ?? '');
    } catch {
      throw new RetryableError(`the LLM oracle answered no JSON: ${String(content).slice(0, 200)}`);
    }
    const output =
      parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'output' in parsed
        ? (parsed as { output: unknown }).output
        : parsed;
    return checked(app, output, 'the LLM oracle');
  }
}

function prompt(config: LoopAppConfig, input: unknown): OpenAI.Chat.ChatCompletionMessageParam[] {
  return [
    {
      role: 'system',
      content:
        `You are the reference labeller for this task: ${config.task}\n` +
        `Answer with a JSON object {"output": …} whose "output" follows this JSON Schema:\n` +
        `${JSON.stringify(config.output_schema)}\nAnswer with the JSON object only.`,
    },
    { role: 'user', content: JSON.stringify(input) },
  ];
}

/**
 * A teacher endpoint: `POST {loop_app_id, task, input}` to `validation.http.url`, answered with `{output}`.
 * Timeouts, connection errors, 429 and 5xx are tried again (honouring Retry-After up to 30 s); other 4xx are not.
 */
export class HttpOracle implements Oracle {
  constructor(
    /** Aborted at shutdown: requests and pauses end at once. */
    private readonly signal: AbortSignal,
  ) {}

  async label(app: LiveApp, input: unknown): Promise<unknown> {
    const http = app.config.validation.http;
    if (!http)
      throw new OracleError('validation.oracle is http but validation.http.url is not set in config.yaml');
    return withRetries(() => this.ask(app, input, http), this.signal);
  }

  private async ask(
    app: LiveApp,
    input: unknown,
    http: NonNullable<LoopAppConfig['validation']['http']>,
  ): Promise<unknown> {
    const timeoutMs = http.timeout_ms ?? 10_000;
    let res: Response;
    try {
      res = await fetch(http.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...http.headers },
        body: JSON.stringify({ loop_app_id: app.id, task: app.config.task, input }),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.signal]),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new RetryableError(
        `the HTTP oracle ${http.url} ${timedOut ? `did not answer within ${timeoutMs} ms` : `could not be reached (${(err as Error).cause ?? (err as Error).message})`}`,
        0,
      );
    }
    const text = await res.text();
    if (res.status === 429 || res.status >= 500) {
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new RetryableError(
        `the HTTP oracle ${http.url} answered ${res.status}: ${text.slice(0, 200)}`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : 0,
      );
    }
    if (!res.ok)
      throw new OracleError(`the HTTP oracle ${http.url} answered ${res.status}: ${text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OracleError(`the HTTP oracle ${http.url} answered no JSON: ${text.slice(0, 200)}`);
    }
    if (!body || typeof body !== 'object' || !('output' in body)) {
      throw new OracleError(
        `the HTTP oracle ${http.url} must answer {"output": …}; it sent ${text.slice(0, 200)}`,
      );
    }
    return checked(app, (body as { output: unknown }).output, `the HTTP oracle ${http.url}`);
  }
}
