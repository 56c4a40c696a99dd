import crypto from 'node:crypto';
import type { WebhookEvent, WebhookSetting } from '../domain/types';
import type { Logger } from '../logger';

/** Reports an event to whoever subscribed; never waits for the delivery. */
export type Notify = (type: WebhookEvent, loopAppId: string, data: Record<string, unknown>) => void;

const ATTEMPTS = 6;
const TIMEOUT_MS = 5000;

/**
 * Webhook deliveries: a JSON POST per subscribed hook, signed with HMAC-SHA256 of the body, tried again with
 * exponential backoff (0.5 s, 1 s, 2 s … ) on errors, 429 and 5xx. Deliveries run in the background, off every
 * request path; they live in memory, so a restart drops those still being retried.
 */
export class Webhooks {
  constructor(
    private readonly hooks: WebhookSetting[],
    private readonly logger: Logger,
    private readonly backoffMs = 500,
  ) {}

  /** Aborted when the server stops: deliveries still being tried are dropped (they live in memory only). */
  private readonly stopped = new AbortController();

  readonly notify: Notify = (type, loopAppId, data) => {
    if (this.stopped.signal.aborted) return;
    const body = JSON.stringify({
      id: crypto.randomUUID(),
      type,
      ts: new Date().toISOString(),
      loop_app_id: loopAppId,
      data,
    });
    for (const hook of this.hooks) {
      if (!hook.events.includes('*') && !hook.events.includes(type)) continue;
      void this.deliver(hook, type, body);
    }
  };

  private async deliver(hook: WebhookSetting, type: string, body: string): Promise<void> {
    const signature = crypto.createHmac('sha256', hook.secret).update(body).digest('hex');
    let why = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-loopai-event': type,
            'x-loopai-signature': `sha256=${signature}`,
          },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(TIMEOUT_MS), this.stopped.signal]),
        });
        await res.body?.cancel();
        if (res.ok) return;
        why = `answered ${res.status}`;
        if (res.status !== 429 && res.status < 500) break; // the receiver refuses it: trying again changes nothing
      } catch (err) {
        why = (err as Error).message;
      }
      if (this.stopped.signal.aborted) return;
      if (attempt < ATTEMPTS) await this.pause(this.backoffMs * 2 ** (attempt - 1));
    }
    this.logger.warn('webhook delivery failed', { url: hook.url, type, error: why });
  }

  /** Waits, or ends early when the server stops. */
  private pause(ms: number): Promise<void> {
    const signal = this.stopped.signal;
    return new Promise((resolve) => {
      const onStop = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      signal.addEventListener('abort', onStop, { once: true });
    });
  }

  close(): void {
    this.stopped.abort();
  }
}
