import { createHook } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { silentLogger } from '../src/logger';
import { AppWatcher } from '../src/watch/watcher';
import { flipActive, spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';
import { startTeacher } from './helpers/teacher';

const CYCLES = 20;
const answer = (label: string) => `function execute() { return { result: '${label}', confidence: 1 }; }`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live timers of the test runner itself (jest's progress display, in this process when run in band). */
const runnerTimers = new Map<number, NodeJS.Timeout>();
const runnerHook = createHook({
  init(id, type, _trigger, resource) {
    if (type === 'Timeout' && /node_modules[\\/](@jest|jest-)/.test(new Error().stack ?? '')) {
      runnerTimers.set(id, resource as NodeJS.Timeout);
    }
  },
  destroy: (id) => void runnerTimers.delete(id),
});

/** What keeps the process alive (FSEventWrap, Timeout, TCPServerWrap, …), by kind, the runner's timers aside. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  counts.Timeout = (counts.Timeout ?? 0) - [...runnerTimers.values()].filter((t) => t.hasRef()).length;
  return counts;
}

/** A whole turn of the event loop: handles closed by close() are released in its close-callbacks phase. */
async function loopTurn(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** What `after` holds beyond `before`, by kind. */
function beyond(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([kind, n]) => [kind, n - (before[kind] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

describe('a closed server leaves nothing running', () => {
  let teacher: Awaited<ReturnType<typeof startTeacher>>;

  beforeAll(async () => {
    runnerHook.enable();
    // always busy: an oracle that asked it waits 30 s before asking again
    teacher = await startTeacher(() => ({
      status: 503,
      body: 'busy',
      headers: { 'retry-after': '30', connection: 'close' },
    }));
  });
  afterAll(async () => {
    runnerHook.disable();
    await teacher.close();
  });

  test(`${CYCLES} servers closed right after hand edits, half of them amid a validation pass`, async () => {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const dataDir = tmpDataDir();
      const amidPass = cycle % 2 === 0;
      const config = spamConfig('leak-app', {
        sampling: { rate: 1, strategy: 'random' },
        // every second, or once a year
        validation: {
          oracle: 'http',
          http: { url: teacher.url },
          schedule: amidPass ? '* * * * * *' : '0 0 1 1 *',
        },
      });
      writeApp(dataDir, 'leak-app', {
        config,
        versions: [{ 'program.js': answer('ham') }, { 'program.js': answer('spam') }],
        active: 'v1',
      });
      const before = resources();
      const server = await startTestServer(dataDir);
      const asked = teacher.inputs.length;
      const res = await call(server.url, 'POST', '/loop-apps/leak-app/execute', { input: { text: 'hi' } });
      expect(res.status).toBe(200);
      if (amidPass) await eventually(() => expect(teacher.inputs.length).toBeGreaterThan(asked));
      flipActive(dataDir, 'leak-app', 'v2');
      const file = path.join(dataDir, 'loop-apps', 'leak-app', 'config.yaml');
      fs.writeFileSync(file, yaml.dump({ ...config, retention_days: cycle + 1 }));
      // the close lands before the watcher saw the edits, amid their reload, or after it
      await sleep((cycle * 37) % 250);
      await server.close();
      await loopTurn();
      expect({ cycle, left: beyond(before, resources()) }).toEqual({ cycle, left: {} });
    }
  }, 120_000);

  test('a watcher closed while it starts, or right after, leaves nothing open and reloads nothing', async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'watched-app');
    const before = resources();
    const reloaded: string[] = [];
    for (const closeAt of ['while starting', 'after start']) {
      const watcher = new AppWatcher(
        path.join(dataDir, 'loop-apps'),
        async (id) => void reloaded.push(id),
        silentLogger(),
      );
      const started = watcher.start();
      if (closeAt === 'after start') await started;
      await watcher.close();
      await started;
      fs.appendFileSync(path.join(dataDir, 'loop-apps', 'watched-app', 'config.yaml'), `# ${closeAt}\n`);
    }
    await sleep(300);
    await loopTurn();
    expect(reloaded).toEqual([]);
    expect(beyond(before, resources())).toEqual({});
  });
});
