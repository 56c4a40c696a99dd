/** Messages between the server (parent) and a sandbox child process (host.js). Types only. */

/** Verified shared artifacts, by a program's name for them: each one's hash and its files' texts. */
export type SharedTexts = Record<string, { hash: string; files: Record<string, string> }>;

export interface ProgramSource {
  /** Unique per loaded program, e.g. `${appId}@${version}@${sha}`; the part before '@' picks the child. */
  key: string;
  /** program.js text. */
  code: string;
  /** Other files of the version, read-only in `loopai.files`. */
  files: Record<string, string>;
  /**
   * Verified shared artifacts, by name, read-only in `loopai.shared[name][file]`: a child holds one copy of each
   * (by hash) for every program that uses it.
   */
  shared?: SharedTexts;
  /** Per call. */
  timeoutMs: number;
  /** Isolate heap limit. */
  memoryMb: number;
  /** Largest answer of one call, as UTF-8 JSON; default 64 KiB (the default of execution.max_result_bytes). */
  maxResultBytes?: number;
}

export type ErrorCode =
  'timeout' | 'memory' | 'program_error' | 'bad_answer' | 'result_too_large' | 'sandbox_crash' | 'not_loaded';

export interface Answer {
  result: unknown;
  confidence?: number;
  reason?: string;
}

export type CallOutcome =
  { ok: true; answer: Answer } | { ok: false; error: { code: ErrorCode; message: string } };

/** Parent → child. Inputs travel as JSON text and are parsed inside the isolate. */
export type ToChild =
  | { type: 'load'; id: number; program: ProgramSource; selfCheck?: string }
  | { type: 'unload'; id: number; key: string }
  | { type: 'run'; id: number; key: string; inputs: string[] };

/**
 * Child → parent. `ran` has one outcome per input, in order, for the first inputs of the message, at least one:
 * the child stops early after a timeout, a time slice or an answer budget, so that other programs' calls get
 * their turn; the parent sends the rest again. Answers are checked by the child.
 */
export type FromChild =
  | { type: 'loaded'; id: number; error?: string }
  | { type: 'unloaded'; id: number }
  | { type: 'ran'; id: number; outcomes: CallOutcome[] };
