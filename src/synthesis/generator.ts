import type { EvalReport, LoopAppSpec, VersionMetadata } from '../domain/types';

/** A labelled row as generators and the evaluation harness see it. */
export interface Labelled {
  input: unknown;
  output: unknown;
}

/** A program under the contract: program.js plus the files it reads through `loopai.files`. */
export interface ProgramFiles {
  code: string;
  files: Record<string, string>;
}

export interface Candidate extends ProgramFiles {
  generator: 'learner' | 'llm';
  notes?: string;
  /** The fixed program.js it is made of, when it is one (the learner's): recorded in metadata.json. */
  template?: VersionMetadata['template'];
}

/** A scored run of a program on labelled rows, with the rows it got wrong (for repair prompts). */
export interface Scored extends EvalReport {
  failures: Array<{ input: unknown; expected: unknown; got: unknown; error?: string }>;
}

export interface GenerateContext {
  spec: LoopAppSpec;
  /** Rows the generator may learn from (the held-out rows are never shown to it). */
  train: Labelled[];
  /** Runs a program in the real sandbox on labelled rows. */
  evaluate(program: ProgramFiles, rows: Labelled[]): Promise<Scored>;
  progress(message: string): void;
}

/** Something that makes a program from a spec and labelled data: the offline learner or an LLM. */
export interface Generator {
  readonly name: 'learner' | 'llm';
  /** Why it cannot work for this spec here (no key, output not learnable), or null when it can. */
  unavailable(spec: LoopAppSpec): string | null;
  generate(ctx: GenerateContext): Promise<Candidate>;
}
