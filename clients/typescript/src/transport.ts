/** HTTP transport: one JSON request, with a timeout per attempt, retried where a retry is safe. */

import { ConnectionError, LoopaiError, TimeoutError, errorForResponse } from './errors';

/** The part of `fetch` the client uses, so any runtime's implementation (or a wrapper) can be passed in. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** Options every method takes as its last argument. */
export interface RequestOptions {
  /** Milliseconds to wait for each attempt's answer (overrides the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Retries for this call (overrides the client's `maxRetries`). */
  maxRetries?: number;
  /** Cancels the call, including any wait between retries; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface TransportOptions {
  /** The servers, in order of preference: a call fails over to the next on a connection failure or a 503. */
  baseUrls: string[];
  /** Empty for none. */
  apiKey: string;
  timeoutMs: number;
  maxRetries: number;
  fetch: FetchLike;
}

/** A body sent as it is, not as JSON (labelled rows as JSON Lines or CSV, say). */
export class RawBody {
  constructor(
    readonly data: string | Uint8Array,
    readonly contentType: string,
  ) {}
}

/** How an answer is read: one JSON value, or JSON Lines (one value a line, as a list). */
export type AnswerFormat = 'json' | 'jsonl';

/** First backoff step; each retry doubles it, up to BACKOFF_CAP_MS. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8_000;
/** A Retry-After longer than this is not waited out: the caller gets the error and decides. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Failures where the request never reached the server, so even a POST may be sent again. A connection that
 * broke later (reset, closed mid-answer) may have been acted on and is retried for GET only.
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** `Retry-After` in milliseconds from `now`: delay-seconds or an HTTP date; undefined if absent or garbled. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Math.max(0, Number(text) * 1000);
  // HTTP dates are always GMT ("Wed, 21 Oct 2015 07:28:00 GMT"); anything else is not one.
  if (!/\bGMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with jitter: half the step fixed, half random, so clients that failed together spread. */
export function backoffMs(attempt: number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

export class Transport {
  /** The server calls go to: the first, until it fails and another answers (the client stays with that one). */
  private current = 0;

  constructor(private readonly options: TransportOptions) {}

  get baseUrl(): string {
    return this.options.baseUrls[this.current];
  }

  get baseUrls(): string[] {
    return [...this.options.baseUrls];
  }

  /**
   * The parsed JSON answer of a 2xx response; otherwise rejects with the matching {@link LoopaiError}.
   *
   * Retried up to `maxRetries` times: 429 and 503 always (the server refused before doing any work), other 5xx
   * and broken connections for GET only (a POST may have been carried out), connection failures before the
   * request was sent always. Timeouts are not retried: the server may still be working on the request.
   * With several base URLs, whatever would be retried goes to the next server at once, once per server, before
   * any backoff (failing over is not counted as a retry).
   */
  async request<T>(
    method: string,
    path: string,
    body: unknown,
    query: Record<string, string | number | boolean | undefined> | undefined,
    options: RequestOptions = {},
    answerFormat: AnswerFormat = 'json',
  ): Promise<T> {
    const target = this.target(path, query);
    const maxRetries = options.maxRetries ?? this.options.maxRetries;
    const headers: Record<string, string> = {
      accept: answerFormat === 'json' ? 'application/json' : 'application/x-ndjson',
    };
    if (body !== undefined)
      headers['content-type'] = body instanceof RawBody ? body.contentType : 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const payload =
      body === undefined ? undefined : body instanceof RawBody ? body.data : JSON.stringify(body);
    // the other servers this call may still fail over to at once
    let others = this.options.baseUrls.length - 1;
    const failOver = () => {
      if (others <= 0) return false;
      others -= 1;
      this.current = (this.current + 1) % this.options.baseUrls.length;
      return true;
    };

    for (let attempt = 0; ;) {
      const url = this.baseUrl + target;
      let answer: { status: number; text: string; retryAfterMs?: number; requestId?: string };
      try {
        answer = await this.send(method, url, headers, payload, options);
      } catch (err) {
        const retryable =
          err instanceof ConnectionError &&
          (method === 'GET' || NOT_SENT.has(String(err.details?.cause_code)));
        if (retryable && failOver()) continue;
        if (!retryable || attempt >= maxRetries) throw err;
        await sleep(backoffMs(attempt++), options.signal);
        continue;
      }
      if (answer.status >= 200 && answer.status < 300)
        return answerFormat === 'json'
          ? parseJson<T>(answer.text, method, url)
          : (answer.text
              .split('\n')
              .filter((line) => line.trim())
              .map((line) => parseJson(line, method, url)) as T);
      if (answer.status === 503 && failOver()) continue;

      const error = errorForResponse(answer.status, answer.text, {
        method,
        url,
        requestId: answer.requestId,
        retryAfterMs: answer.retryAfterMs,
      });
      const retryable =
        answer.status === 429 || answer.status === 503 || (answer.status >= 500 && method === 'GET');
      const wait = error.retryAfterMs ?? backoffMs(attempt);
      if (!retryable || attempt >= maxRetries || wait > MAX_RETRY_AFTER_MS) throw error;
      attempt += 1;
      // Never earlier than the server asked; a little jitter on top so limited clients do not return in step.
      await sleep(
        error.retryAfterMs === undefined ? wait : wait + Math.random() * Math.min(1000, wait * 0.1),
        options.signal,
      );
    }
  }

  /** The path and query of a call, to put after whichever base URL serves it. */
  private target(path: string, query?: Record<string, string | number | boolean | undefined>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${path}${search ? `?${search}` : ''}`;
  }

  /** One attempt; the timeout covers the whole answer, body included. */
  private async send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    options: RequestOptions,
  ): Promise<{ status: number; text: string; retryAfterMs?: number; requestId?: string }> {
    const { signal } = options;
    signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const cancel = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const res = await this.options.fetch(url, { method, headers, body, signal: controller.signal });
      const text = await res.text();
      return {
        status: res.status,
        text,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
        requestId: res.headers.get('x-request-id') ?? undefined,
      };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        throw new TimeoutError(`${method} ${url} got no answer within ${timeoutMs} ms`, {
          code: 'timeout',
          cause: err,
        });
      }
      const causeCode = systemCode(err);
      throw new ConnectionError(`${method} ${url} failed: ${describe(err)}`, {
        code: 'connection_error',
        details: causeCode ? { cause_code: causeCode } : undefined,
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  }
}

function parseJson<T>(text: string, method: string, url: string): T {
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new LoopaiError(
      `${method} ${url} answered with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
      { code: 'invalid_response', cause: err },
    );
  }
}

/** The system error code (ECONNREFUSED, …) somewhere in a fetch failure: Node's fetch wraps it in `cause`. */
function systemCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const { code, cause, errors } = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = systemCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return systemCode(cause, depth + 1);
}

/** "fetch failed" says little; the innermost cause says what happened. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const text = e instanceof Error ? e.message || e.name : String(e);
    if (text && !parts.includes(text)) parts.push(text);
  }
  return parts.join(': ') || 'unknown error';
}

/** Waits `ms`; rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
