import fs from 'node:fs';
import path from 'node:path';
import { AppStore } from '../src/store/app-store';
import { tmpDataDir } from './helpers/apps';
import { spawnServer } from './helpers/process';

/** A publish the server is killed (SIGKILL) in the middle of: nothing half-made is ever visible, and start-up sweeps. */
test('kill -9 during a publish: no half artifact is visible, and the leftovers are removed at start-up', async () => {
  const dataDir = tmpDataDir();
  const config = path.join(dataDir, 'loopai.yaml');
  fs.writeFileSync(config, 'max_body_bytes: 134217728\n');
  const env = { LOOPAI_CONFIG: config };
  const models = path.join(dataDir, 'shared', 'artifacts', 'models');
  const files = Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => [`part-${i}.b64`, 'A'.repeat(6 << 20)]),
  );
  let caught = 0;
  for (let attempt = 1; attempt <= 5 && !caught; attempt++) {
    const { proc, url, exited } = await spawnServer(dataDir, env);
    const body = JSON.stringify({ type: 'model', name: 'big', version: `v${attempt}`, files });
    const sent = fetch(`${url}/shared/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).catch(() => null);
    // the moment its temporary folder shows, the server dies
    for (const started = Date.now(); Date.now() - started < 20_000;) {
      const temp = (fs.existsSync(models) ? fs.readdirSync(models) : []).some((n) => n.startsWith('.tmp-'));
      if (temp || proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    proc.kill('SIGKILL');
    await exited;
    await sent;
    const names = fs.existsSync(models) ? fs.readdirSync(models) : [];
    if (names.some((n) => n.startsWith('.tmp-')) && !names.includes(`big-v${attempt}`)) caught++;
    // whatever is visible under its own name is whole
    const store = new AppStore(dataDir);
    for (const name of names.filter((n) => !n.startsWith('.'))) {
      const version = name.slice('big-'.length);
      const metadata = await store.shared.metadata({ type: 'model', name: 'big', version });
      await expect(
        store.shared.verified({ type: 'model', name: 'big', version }, metadata.hash),
      ).resolves.toBeTruthy();
    }
  }
  expect(caught).toBeGreaterThan(0);
  // start-up removes what the killed publishes left
  const { proc, url, exited } = await spawnServer(dataDir, env);
  try {
    expect(fs.readdirSync(models).filter((n) => n.startsWith('.'))).toEqual([]);
    const listed = (await (await fetch(`${url}/shared/artifacts`)).json()) as { artifacts: unknown[] };
    expect(listed.artifacts.length).toBe(fs.readdirSync(models).length);
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}, 90_000);
