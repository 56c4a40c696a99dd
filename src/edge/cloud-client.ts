import type { CloudSettings } from '../settings';

/** The first pause after a failure; each further one doubles it, up to `retry_max_ms`. */
const RETRY_BASE_MS = 250;

/** The cloud said the key may not do this: retrying would not help. */
export class Refused extends Error {}

/**
 * An edge's HTTP link to its cloud: every request carries the edge key and a deadline, and is cut short when the
 * edge closes; 401 and 403 become `Refused` (a configuration error, not an outage).
 */
export class CloudClient {
  readonly url: string;

  constructor(
    private readonly settings: CloudSettings,
    readonly stopping: AbortSignal,
    private readonly random: () => number = Math.random,
  ) {
    this.url = settings.url!.replace(/\/+$/, '');
  }

  async request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<Response> {
    const res = await fetch(`${this.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(this.settings.key ? { authorization: `Bearer ${this.settings.key}` } : {}),
        ...init.headers,
      },
      body: init.body,
      signal: AbortSignal.any([this.stopping, AbortSignal.timeout(init.timeoutMs ?? 30_000)]),
    });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new Refused(
        `the cloud ${this.url} refused the edge key (${res.status}): set LOOPAI_CLOUD_KEY to an edge key of that cloud`,
      );
    }
    return res;
  }

  /** Doubling pauses up to the cap, each between half and all of its step (so edges do not retry in step). */
  backoff(failures: number): number {
    const step = Math.min(
      this.settings.retry_max_ms,
      RETRY_BASE_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 30),
    );
    return step / 2 + (this.random() * step) / 2;
  }

  /** Waits `ms`, or less when the edge closes. */
  pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopping.addEventListener('abort', done);
    });
  }
}

/** What went wrong, with fetch's underlying cause ("fetch failed: ECONNREFUSED"). */
export function reason(err: unknown): string {
  const { message, cause } = err as Error & { cause?: { code?: string; message?: string } };
  const why = cause?.code ?? cause?.message;
  return why ? `${message}: ${why}` : message;
}

/** A response body of at most `max` bytes (a peer that sends more is cut off and refused). */
export async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  // leaving the loop early cancels the rest of the body
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > max) break;
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  if (size > max) throw new Error(`${what}: the cloud sent more than ${max} bytes`);
  return Buffer.concat(chunks);
}
