import os from 'node:os';
import type { Registry } from '../runtime/registry';
import type { Settings } from '../settings';
import type { ExecutionLog } from '../telemetry/execution-log';
import type { SampleInputs } from '../telemetry/sampler';
import type { WorkerBus } from './bus';

/** Worker processes `workers` asks for (0: one per core). */
export const workerCount = (settings: Settings): number => settings.workers || os.availableParallelism();

/** Sandbox children of one worker, when the settings leave it open: the cores shared among the workers. */
export const sandboxChildren = (settings: Settings, bus: WorkerBus | null): number | undefined =>
  settings.sandbox.children ||
  (bus ? Math.max(1, Math.ceil(os.availableParallelism() / workerCount(settings))) : undefined);

/** Where a worker keeps sampled inputs: the leader validates, so the others hand theirs to it. */
export function keptInputs(bus: WorkerBus | null, own: SampleInputs): Pick<SampleInputs, 'keep'> {
  if (!bus || bus.leader) return own;
  return { keep: (app, execution, input) => bus.toLeader({ type: 'sample-input', app, execution, input }) };
}

/** What a worker does for the others: load an app another one wrote, flush its log, keep a sampled input. */
export function serveBus(
  bus: WorkerBus,
  deps: { registry: Registry; executions: ExecutionLog; sampleInputs: SampleInputs },
): void {
  bus.on('reload', (e) => deps.registry.reload(e.app));
  bus.on('flush', () => deps.executions.flush());
  bus.on('sample-input', (e) => deps.sampleInputs.keep(e.app, e.execution, e.input));
}
