import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { readText, readTextOrNull, writeAtomic } from './files';
import type { Layout } from './layout';

/** A spooled batch: `<ms since 1970, 15 digits>-<uuid>.json`, so names sort oldest first. */
const SPOOL_FILE = /^\d{15}-[0-9a-f-]{36}\.json$/;

const readJsonOrNull = async (file: string): Promise<unknown> => {
  const text = await readTextOrNull(file);
  return text === null ? null : (JSON.parse(text) as unknown);
};

/**
 * What an edge keeps about its cloud under `edge/`: the state of its last sync, what it has gathered for
 * telemetry, and the spool of batches not yet sent (each written whole, removed once the cloud has it).
 */
export class EdgeFiles {
  constructor(private readonly layout: Layout) {}

  /** The saved sync state as parsed JSON (its shape is the caller's to check), or null when there is none. */
  readState(): Promise<unknown> {
    return readJsonOrNull(this.layout.edgeState());
  }

  writeState(state: object): Promise<void> {
    return writeAtomic(this.layout.edgeState(), JSON.stringify(state, null, 1) + '\n', 'the edge sync state');
  }

  readTelemetry(): Promise<unknown> {
    return readJsonOrNull(this.layout.edgeTelemetry());
  }

  writeTelemetry(state: object): Promise<void> {
    return writeAtomic(this.layout.edgeTelemetry(), JSON.stringify(state), 'the edge telemetry state');
  }

  /** Adds a batch to the spool; resolves to its name. */
  async spool(text: string): Promise<string> {
    const name = `${String(Date.now()).padStart(15, '0')}-${crypto.randomUUID()}.json`;
    await writeAtomic(path.join(this.layout.edgeSpool(), name), text, 'a telemetry batch');
    return name;
  }

  /** The spooled batches, oldest first, with their sizes. */
  async spooled(): Promise<Array<{ name: string; size: number }>> {
    const dir = this.layout.edgeSpool();
    const names = (await fsp.readdir(dir).catch(() => [] as string[]))
      .filter((n) => SPOOL_FILE.test(n))
      .sort();
    const sizes = await Promise.all(
      names.map((n) =>
        fsp.stat(path.join(dir, n)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return names.map((name, i) => ({ name, size: sizes[i] }));
  }

  readSpooled(name: string): Promise<string> {
    return readText(this.spoolFile(name));
  }

  async unspool(name: string): Promise<void> {
    await fsp.rm(this.spoolFile(name), { force: true });
  }

  private spoolFile(name: string): string {
    if (!SPOOL_FILE.test(name)) throw new Error(`${JSON.stringify(name)} is not a spooled batch`);
    return path.join(this.layout.edgeSpool(), name);
  }
}
