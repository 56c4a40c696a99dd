import { LEADER, WORKER_ENV, type BusEvent, type FromWorker, type ToWorker } from './messages';

type Handlers = { [T in BusEvent['type']]?: (event: Extract<BusEvent, { type: T }>) => unknown };

/** How long a broadcast waits for the other workers (one that hangs must not hang API writes for ever). */
const BROADCAST_TIMEOUT_MS = 10_000;

/**
 * A worker's side of the cluster: who it is, and messages to the other workers through the primary. A
 * broadcast resolves once every other worker has handled it (read-your-writes across workers).
 */
export class WorkerBus {
  readonly index: number;
  readonly leader: boolean;
  readonly leaderSocket: string;
  private nextId = 1;
  private waiting = new Map<number, (text?: string) => void>();
  private handlers: Handlers = {};

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.index = Number(env[WORKER_ENV.index]);
    this.leader = this.index === LEADER;
    this.leaderSocket = env[WORKER_ENV.leaderSocket] ?? '';
    process.on('message', (msg: ToWorker) => void this.receive(msg));
  }

  /** Whether this process was started as a cluster worker. */
  static inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
    return env[WORKER_ENV.index] !== undefined && typeof process.send === 'function';
  }

  on<T extends BusEvent['type']>(type: T, handler: (event: Extract<BusEvent, { type: T }>) => unknown): void {
    (this.handlers as Record<string, unknown>)[type] = handler;
  }

  /** Tells every other worker, and resolves when they all have handled it (or after a timeout). */
  broadcast(event: BusEvent): Promise<void> {
    return this.request({ loopai: 'broadcast', id: this.nextId++, event }).then(() => undefined);
  }

  /** Tells the leader, without waiting. */
  toLeader(event: BusEvent): void {
    this.post({ loopai: 'to-leader', event });
  }

  /** The metrics of every worker, added up (by the primary, with prom-client's cluster aggregator). */
  async metrics(): Promise<string> {
    return (await this.request({ loopai: 'metrics', id: this.nextId++ })) ?? '';
  }

  private request(msg: Extract<FromWorker, { id: number }>): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(msg.id), BROADCAST_TIMEOUT_MS);
      this.waiting.set(msg.id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      this.post(msg);
    });
  }

  private settle(id: number, text?: string): void {
    const done = this.waiting.get(id);
    this.waiting.delete(id);
    done?.(text);
  }

  private post(msg: FromWorker): void {
    if (process.connected) process.send!(msg);
  }

  private async receive(msg: ToWorker): Promise<void> {
    if (msg?.loopai === 'done') return this.settle(msg.id);
    if (msg?.loopai === 'metrics') return this.settle(msg.id, msg.text);
    if (msg?.loopai !== 'event') return;
    const handler = this.handlers[msg.event.type] as ((e: BusEvent) => unknown) | undefined;
    try {
      await handler?.(msg.event);
    } finally {
      if (msg.id !== null) this.post({ loopai: 'ack', id: msg.id });
    }
  }
}
