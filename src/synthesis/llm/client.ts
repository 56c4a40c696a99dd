import OpenAI from 'openai';
import type { Settings } from '../../settings';

/** How often the SDK retries 429, 5xx, timeouts and dropped connections (with backoff, honouring Retry-After). */
export const DEFAULT_MAX_RETRIES = 3;

/**
 * `fetch`, except that a request aborted by the SDK's timeout always fails as an `AbortError` of this realm. The
 * runtime's own DOMException is not an `Error` where the SDK runs in another realm (jest's module sandbox), and
 * then the SDK reports a timeout as a failed connection.
 */
const fetchAbortingPlainly: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (err) {
    if (init?.signal?.aborted) {
      const aborted = new Error('the request was aborted', { cause: err });
      aborted.name = 'AbortError';
      throw aborted;
    }
    throw err;
  }
};

/**
 * The OpenAI-compatible client, or null when no LLM is configured (the offline default). A base URL alone is
 * enough: Ollama, vLLM and llama.cpp need no key, so a placeholder is sent. Retries are the SDK's own.
 */
export function createLlmClient(llm: Settings['llm'], options: { maxRetries?: number } = {}): OpenAI | null {
  if (!llm.api_key && !llm.base_url) return null;
  return new OpenAI({
    apiKey: llm.api_key || 'not-needed',
    baseURL: llm.base_url || undefined,
    timeout: llm.timeout_ms,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    fetch: fetchAbortingPlainly,
  });
}

/** The low-level reason of a failed connection (undici hides it two `cause`s deep), in words. */
function connectionReason(err: unknown): string | null {
  const codes: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    CERT_HAS_EXPIRED: 'TLS certificate expired',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  };
  let cause: unknown = err;
  for (let depth = 0; cause && typeof cause === 'object' && depth < 5; depth++) {
    const { code, message, errors } = cause as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === 'string') return codes[code] ?? code;
    // happy eyeballs: one error per address tried
    if (Array.isArray(errors) && errors.length) return connectionReason(errors[0]);
    if (depth > 0 && typeof message === 'string' && !['', '{}', 'fetch failed'].includes(message))
      return message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return null;
}

/** What the message names: the server and, when known, the model and how long a call may take. */
export interface LlmErrorContext {
  /** The client that made the call: gives the base URL, the timeout and the retries. */
  client?: OpenAI | null;
  model?: string;
}

/**
 * An error of an LLM call as one sentence that says what to fix (which setting, which server). Shared by
 * everything that calls the LLM (generator, oracle).
 */
export function describeLlmError(err: unknown, context: LlmErrorContext = {}): string {
  const { client, model } = context;
  const where = client ? ` at ${client.baseURL}` : '';
  const retries = client
    ? ` after ${client.maxRetries} ${client.maxRetries === 1 ? 'retry' : 'retries'}`
    : '';
  // OpenAI sends {error: {message}}, Ollama {error: "…"}; the SDK's own message starts with the status
  const serverSaid = (e: InstanceType<typeof OpenAI.APIError>): string => {
    const body: unknown = e.error;
    if (typeof body === 'string' && body) return body;
    const text = (body as { message?: unknown } | undefined)?.message;
    if (typeof text === 'string' && text) return text;
    return e.message.replace(/^\d{3} /, '');
  };
  if (err instanceof OpenAI.APIUserAbortError) return 'the LLM call was cancelled';
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    const tries = client ? ` after ${client.timeout} ms (${client.maxRetries + 1} attempts)` : '';
    return `the LLM server${where} timed out${tries}: is it overloaded, or the model too slow? (raise llm.timeout_ms in the settings)`;
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const reason = connectionReason(err);
    return `cannot reach the LLM server${where}${reason ? ` (${reason})` : ''} (check OPENAI_BASE_URL)`;
  }
  if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) {
    return `the LLM server${where} refused the API key (${err.status}: ${serverSaid(err)}) (check OPENAI_API_KEY)`;
  }
  if (err instanceof OpenAI.NotFoundError) {
    const name = model ? `model "${model}"` : 'the model';
    return `${name} not found on the LLM server${where} (404: ${serverSaid(err)}) (check LOOPAI_LLM_MODEL, and that OPENAI_BASE_URL is the API root, usually ending in /v1)`;
  }
  if (err instanceof OpenAI.RateLimitError) {
    return `the LLM server${where} is rate limiting: still 429${retries} (${serverSaid(err)}); wait, or check the account's quota`;
  }
  if (err instanceof OpenAI.InternalServerError) {
    return `the LLM server${where} failed: ${err.status}${retries} (${serverSaid(err)})`;
  }
  if (err instanceof OpenAI.APIError) {
    return `the LLM server${where} rejected the request: ${err.status ?? 'error'} (${serverSaid(err)})`;
  }
  return `the LLM call failed: ${err instanceof Error ? err.message : String(err)}`;
}
