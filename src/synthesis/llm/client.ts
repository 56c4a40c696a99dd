import OpenAI from 'openai';
import type { Settings } from '../../settings';

/**
 * The OpenAI-compatible client, or null when no LLM is configured (the offline default). A base URL alone is
 * enough: Ollama, vLLM and llama.cpp need no key. The SDK retries 429, 5xx and timeouts with backoff itself.
 */
export function createLlmClient(llm: Settings['llm'], maxRetries = 3): OpenAI | null {
  if (!llm.api_key && !llm.base_url) return null;
  return new OpenAI({
    apiKey: llm.api_key ?? 'not-needed',
    baseURL: llm.base_url,
    timeout: llm.timeout_ms,
    maxRetries,
  });
}

/**
 * An LLM error as a message that says what to fix. `elapsedMs` tells a timeout from a refused connection where
 * the runtime does not say which it was (the SDK cannot always tell).
 */
export function describeLlmError(err: unknown, client: OpenAI, elapsedMs = 0): string {
  const where = client.baseURL;
  const timedOut = err instanceof OpenAI.APIConnectionError && elapsedMs >= client.timeout;
  if (err instanceof OpenAI.APIConnectionTimeoutError || timedOut)
    return `the LLM server at ${where} timed out (timeout ${client.timeout} ms)`;
  if (err instanceof OpenAI.APIConnectionError)
    return `cannot reach the LLM server at ${where} (check OPENAI_BASE_URL)`;
  if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) {
    return `the LLM server at ${where} refused the API key (check OPENAI_API_KEY)`;
  }
  if (err instanceof OpenAI.NotFoundError)
    return `the LLM server at ${where} does not know the model (check LOOPAI_LLM_MODEL)`;
  if (err instanceof OpenAI.RateLimitError)
    return `the LLM server at ${where} is rate limiting (still 429 after retries)`;
  if (err instanceof OpenAI.APIError)
    return `the LLM server at ${where} answered ${err.status}: ${err.message}`;
  return `LLM call failed: ${(err as Error).message ?? String(err)}`;
}
