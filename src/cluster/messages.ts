/** Messages between the cluster's primary and its workers (over Node's IPC channel). Types only. */

/** What one worker tells the others (through the primary). */
export type BusEvent =
  /** An API write changed this app on disk: load it now (the writer answers once every worker has). */
  | { type: 'reload'; app: string }
  /** Write every buffered execution line now (before the leader reads the logs). */
  | { type: 'flush' }
  /** The raw input of a sampled execution, kept in the leader's memory for validation. */
  | { type: 'sample-input'; app: string; execution: string; input: unknown };

/** Worker → primary. Every message carries `loopai` so that others on the channel (prom-client's) are told apart. */
export type FromWorker =
  | { loopai: 'broadcast'; id: number; event: BusEvent }
  | { loopai: 'to-leader'; event: BusEvent }
  | { loopai: 'ack'; id: number }
  | { loopai: 'metrics'; id: number };

/** Primary → worker. */
export type ToWorker =
  | { loopai: 'event'; id: number | null; event: BusEvent }
  | { loopai: 'done'; id: number }
  | { loopai: 'metrics'; id: number; text: string };

/** The environment a worker is started with. */
export const WORKER_ENV = { index: 'LOOPAI_WORKER', leaderSocket: 'LOOPAI_LEADER_SOCKET' } as const;

/** Worker 1 is the leader: it answers every request but execute, and runs the schedules. */
export const LEADER = 1;
