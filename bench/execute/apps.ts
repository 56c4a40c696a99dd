/** The data directories the execute bench serves: the app it loads, its sandbox twin, and many copies of it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { silentLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { DATASETS_DIR, load } from '../datasets';
import { ROOT } from './servers';

const BUNDLED = path.join(ROOT, 'loopai-data', 'loop-apps', 'spam-detector-001');
const SMS_TRAIN = path.join(DATASETS_DIR, 'sms-spam.train.jsonl');

export interface BenchApp {
  /** The app's folder, to copy. */
  dir: string;
  id: string;
  /** The rows it learned from, for the peer to learn from too. */
  trainFile: string;
  /** What it is, for the output. */
  about: string;
}

export const tempDataDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-bench-'));
  fs.mkdirSync(path.join(dir, 'loop-apps'));
  return dir;
};

/**
 * An app learned by the product path from the shared SMS spam train split (created through the API, as a user
 * would), or the bundled spam app when the data sets are not here.
 */
export async function benchApp(dataDir: string): Promise<BenchApp> {
  if (!fs.existsSync(SMS_TRAIN)) {
    fs.cpSync(BUNDLED, path.join(dataDir, 'loop-apps', 'spam-detector-001'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    const trainFile = path.join(BUNDLED, 'datasets', 'examples.jsonl');
    return {
      dir: path.join(dataDir, 'loop-apps', 'spam-detector-001'),
      id: 'spam-detector-001',
      trainFile,
      about: `the bundled spam-detector-001 (${SMS_TRAIN} not found)`,
    };
  }
  const id = 'sms-spam';
  const rows = load(SMS_TRAIN);
  const server = await startServer(
    { data_dir: dataDir, host: '127.0.0.1', port: 0, generator: 'learner', max_body_bytes: 64 << 20 },
    silentLogger(),
  );
  try {
    const res = await fetch(`${server.url}/loop-apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        loop_app_id: id,
        task: 'Is this SMS spam?',
        input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        output_schema: { type: 'string', enum: ['spam', 'ham'] },
        generator: 'learner',
        examples: rows,
      }),
    });
    const { job_id } = (await res.json()) as { job_id: string };
    for (;;) {
      const job = (await (await fetch(`${server.url}/jobs/${job_id}`)).json()) as {
        state: string;
        error?: string;
      };
      if (job.state === 'failed') throw new Error(`learning ${id} failed: ${job.error}`);
      if (job.state === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await server.close();
  }
  return {
    dir: path.join(dataDir, 'loop-apps', id),
    id,
    trainFile: SMS_TRAIN,
    about: `learned from the SMS spam train split (${rows.length} rows)`,
  };
}

/** Rewrites an app's config.yaml with `edit` applied. */
function editConfig(appDir: string, edit: (config: Record<string, unknown>) => void): void {
  const file = path.join(appDir, 'config.yaml');
  const config = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(config);
  fs.writeFileSync(file, yaml.dump(config));
}

/**
 * A copy of `app` as `id`: its config and versions (version files as hard links: 10,000 copies cost folders, not
 * data), none of its datasets (the execution log of the load runs would be ingested by every copy).
 */
export function linkCopy(
  app: BenchApp,
  dataDir: string,
  id: string,
  edit?: (config: Record<string, unknown>) => void,
): string {
  const to = path.join(dataDir, 'loop-apps', id);
  const copy = (from: string, into: string) => {
    fs.mkdirSync(into, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const source = path.join(from, entry.name);
      const target = path.join(into, entry.name);
      if (entry.isDirectory()) copy(source, target);
      else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(source), target);
      else if (entry.name !== 'config.yaml') fs.linkSync(source, target);
    }
  };
  copy(path.join(app.dir, 'artifacts'), path.join(to, 'artifacts'));
  fs.copyFileSync(path.join(app.dir, 'config.yaml'), path.join(to, 'config.yaml'));
  editConfig(to, (config) => {
    config.loop_app_id = id;
    edit?.(config);
  });
  return id;
}

/** A data directory with `n` copies of `app` (ids copy-00001 …), the first of them the one in use. */
export function copies(app: BenchApp, n: number): { dataDir: string; ids: string[] } {
  const dataDir = tempDataDir();
  const ids = Array.from({ length: n }, (_, i) =>
    linkCopy(app, dataDir, `copy-${String(i + 1).padStart(5, '0')}`),
  );
  return { dataDir, ids };
}

/** The weights file of the app's active version, in KB. */
export function weightsKb(app: BenchApp): number {
  const active = path.join(app.dir, 'artifacts', 'active');
  const file = path.join(active, 'weights.bin.b64');
  return fs.existsSync(file) ? fs.statSync(file).size / 1024 : 0;
}
