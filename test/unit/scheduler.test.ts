import { silentLogger } from '../../src/logger';
import { Scheduler } from '../../src/improvement/scheduler';
import type { ImprovementPolicy } from '../../src/improvement/policy';
import type { Validator } from '../../src/improvement/validator';
import type { LiveApp, Registry } from '../../src/runtime/registry';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scheduler over these apps, all due every second, whose passes run `validate`. */
function schedulerOf(ids: string[], validate: (id: string) => Promise<void>): Scheduler {
  const apps = ids.map((id) => ({
    id,
    config: { status: 'active', validation: { schedule: '* * * * * *' } }, // every second
  })) as unknown as LiveApp[];
  const registry = {
    list: () => apps,
    get: (id: string) => apps.find((a) => a.id === id),
    onChange: () => undefined,
  } as unknown as Registry;
  const policy = {
    validate: async (id: string) => {
      await validate(id);
      return { ingested: 0, validated: 0, failed: 0, errors: [] };
    },
  } as unknown as ImprovementPolicy;
  const validator = { forget: () => undefined, applyRetention: async () => [] } as unknown as Validator;
  return new Scheduler(registry, validator, policy, silentLogger());
}

test('many apps on one schedule: one cron task, a few passes at a time, each app once per tick and never two at once', async () => {
  let running = 0;
  let most = 0;
  const passes = new Map<string, number>();
  const inPass = new Set<string>();
  const ids = Array.from({ length: 30 }, (_, i) => `app-${i}`);
  const scheduler = schedulerOf(ids, async (id) => {
    if (inPass.has(id)) throw new Error(`${id}: two passes at once`);
    inPass.add(id);
    most = Math.max(most, ++running);
    passes.set(id, (passes.get(id) ?? 0) + 1);
    await sleep(60); // 30 apps, 4 at a time: a tick's passes take about 0.5 s
    running -= 1;
    inPass.delete(id);
  });
  scheduler.start();
  expect((scheduler as unknown as { groups: Map<string, unknown> }).groups.size).toBe(1);
  await sleep(2600);
  await scheduler.close();
  expect(most).toBe(4);
  expect(inPass.size).toBe(0);
  const counts = [...passes.values()];
  expect(counts).toHaveLength(30);
  // two or three ticks in 2.6 s: every app had a pass in each
  expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
});

test('apps due together start together while slots are free, and one long pass does not hold back the others', async () => {
  let running = 0;
  let most = 0;
  const passes = new Map<string, number>();
  const scheduler = schedulerOf(['slow', 'quick-1', 'quick-2'], async (id) => {
    most = Math.max(most, ++running);
    passes.set(id, (passes.get(id) ?? 0) + 1);
    await sleep(id === 'slow' ? 2500 : 50);
    running -= 1;
  });
  scheduler.start();
  await sleep(2300);
  await scheduler.close();
  expect(most).toBe(3);
  // the slow app's one pass spans every tick; the quick ones had a pass in each
  expect(passes.get('slow')).toBe(1);
  expect(passes.get('quick-1')).toBeGreaterThanOrEqual(2);
  expect(passes.get('quick-2')).toBeGreaterThanOrEqual(2);
});
