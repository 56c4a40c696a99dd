import { sampleFor } from '../domain/sample-input';
import { sha256OfParts } from '../domain/hash';
import type { JsonSchema, LoopAppConfig } from '../domain/types';
import type { AppStore } from '../store/app-store';
import type { SchemaValidators } from './app-config';
import type { LiveProgram } from './live-program';
import { DEPENDENCIES, parseDependencies, verifiedShared } from './dependencies';
import type { ProgramSource, SharedTexts } from './sandbox/pool';

/** A program as the sandbox takes it, under `key`, with the limits of `execution`. */
export function programSource(
  key: string,
  code: string,
  files: Record<string, string>,
  { timeout_ms, memory_mb, max_result_bytes }: LoopAppConfig['execution'],
  shared?: SharedTexts,
): ProgramSource {
  return {
    key,
    code,
    files,
    timeoutMs: timeout_ms,
    memoryMb: memory_mb,
    maxResultBytes: max_result_bytes,
    ...(shared ? { shared } : {}),
  };
}

/** A stored version's program and files, keyed by everything that makes it a different program. */
export async function readProgramSource(
  store: AppStore,
  id: string,
  version: string,
  config: LoopAppConfig,
  held?: SharedTexts,
): Promise<ProgramSource> {
  const stored = await store.readVersion(id, version).catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      `cannot read ${version}: ${err.code === 'ENOENT' ? 'no such version folder' : err.message}`,
    );
  });
  const { ['program.js']: code, [DEPENDENCIES]: dependencies, ...files } = stored.files;
  if (code === undefined) throw new Error(`${version} has no program.js`);
  // verified before the program sees them: a mismatch fails this version's load, naming the artifact
  let shared: SharedTexts | undefined;
  if (dependencies !== undefined)
    shared = await verifiedShared(store.shared, parseDependencies(dependencies, files), held);
  // the key changes with the code, the files, the shared artifacts and the execution settings: any of them
  // makes it a different program
  const names = Object.keys(files).sort();
  const parts = [
    code,
    ...names.flatMap((name) => [name, files[name]]),
    ...Object.entries(shared ?? {}).flatMap(([name, a]) => [name, a.hash]),
    JSON.stringify(config.execution),
  ];
  const hash = sha256OfParts(parts).slice(0, 16);
  return programSource(`${id}@${version}@${hash}`, code, files, config.execution, shared);
}

/**
 * The self-check every program passes before it may serve, for the API and for hand edits alike: loaded on its
 * path (a learner-made model in this process, any other program in the sandbox) and run on an input that fits
 * the input schema, its answer must fit the output schema. Throws why not (and unloads it).
 */
export async function checkProgram(
  program: LiveProgram,
  inputSchema: JsonSchema,
  validators: SchemaValidators,
): Promise<void> {
  const input = sampleFor(inputSchema);
  try {
    await program.ready();
    const outcome = await program.run(input);
    if (!outcome.ok) throw new Error(outcome.error.message);
    if (!validators.validateOutput(outcome.answer.result)) {
      throw new Error(`its answer to ${JSON.stringify(input)} does not match output_schema`);
    }
  } catch (err) {
    program.retire();
    throw new Error(`program.js failed its check: ${(err as Error).message}`);
  }
}
