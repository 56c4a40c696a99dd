import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../src/logger';
import { Registry } from '../src/runtime/registry';
import { SandboxPool } from '../src/runtime/sandbox/pool';
import { AppStore } from '../src/store/app-store';
import { AppWatcher } from '../src/watch/watcher';
import { tmpDataDir, writeApp, writeVersion } from './helpers/apps';
import { eventually } from './helpers/server';

const RETRY_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const program = { 'program.js': `function execute() { return { result: 'ham', confidence: 1 }; }` };

test('an app that failed four loads still gets its delayed retry for a folder completed without an event', async () => {
  const dataDir = tmpDataDir();
  // `active` names v2, a folder still being copied in: not there yet
  writeApp(dataDir, 'copied-app', { versions: [program], active: 'v2' });
  const loads: Array<string | null> = [];
  const pool = new SandboxPool({ size: 1 });
  const registry = new Registry(new AppStore(dataDir), pool, silentLogger(), {
    idleUnloadMs: 60_000,
    retryDelayMs: RETRY_MS,
    onReload: (_id, error) => loads.push(error),
  });
  const watcher = new AppWatcher(
    path.join(dataDir, 'loop-apps'),
    (id) => registry.reloadChanged(id),
    silentLogger(),
    20,
  );
  try {
    await registry.loadAll();
    await watcher.start();
    // the first load and its three delayed retries fail; then the retries stop
    await eventually(() => expect(loads).toHaveLength(4), 5000, 10);
    await sleep(5 * RETRY_MS);
    expect(loads).toEqual(Array(4).fill(expect.stringMatching(/points to v2, which does not exist/)));

    // the copy goes on: a file event, and a fifth failed load
    const config = path.join(dataDir, 'loop-apps', 'copied-app', 'config.yaml');
    fs.writeFileSync(config, fs.readFileSync(config));
    await eventually(() => expect(loads).toHaveLength(5), 5000, 10);
    // the rest of the copy lands unseen (no watcher looks any more): only the delayed retry can find it
    await watcher.close();
    writeVersion(dataDir, 'copied-app', 'v2', program);
    await eventually(() => expect(loads[loads.length - 1]).toBeNull(), 5000, 10);
    expect(registry.get('copied-app')).toMatchObject({ activeOnDisk: 'v2', loadError: null });
  } finally {
    await watcher.close();
    await registry.close();
    await pool.close();
  }
});
