import client from 'prom-client';

/** Latency buckets in seconds: executions take tens of microseconds to a few milliseconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * Prometheus metrics of one server (`GET /metrics`), on a registry of its own so several servers in one process
 * (tests) do not mix: executions, latency, sandbox restarts, reloads, samples, validations, oracle calls,
 * accuracy, and Node's default process metrics.
 */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly executions = new client.Counter({
    name: 'loopai_executions_total',
    help: 'Executions by Loop App, version and outcome (ok, or the error code)',
    labelNames: ['loop_app_id', 'version', 'outcome'],
    registers: [this.registry],
  });
  private readonly latency = new client.Histogram({
    name: 'loopai_execution_latency_seconds',
    help: 'Execution latency (sandbox call and checks), by Loop App',
    labelNames: ['loop_app_id'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly samples = new client.Counter({
    name: 'loopai_samples_total',
    help: 'Executions sampled for checking by an oracle, by Loop App and sampling rule',
    labelNames: ['loop_app_id', 'rule'],
    registers: [this.registry],
  });
  private readonly restarts = new client.Counter({
    name: 'loopai_sandbox_restarts_total',
    help: 'Sandbox child processes restarted (timeouts, crashes, memory)',
    registers: [this.registry],
  });
  private readonly reloads = new client.Counter({
    name: 'loopai_reloads_total',
    help: 'Loop App reloads, by result (ok or error)',
    labelNames: ['loop_app_id', 'result'],
    registers: [this.registry],
  });
  /** How many apps' latest load failed: read at each scrape (counting on every reload is O(apps) a reload). */
  failedLoads: () => number = () => 0;
  private readonly loadErrors: client.Gauge = new client.Gauge({
    name: 'loopai_load_errors',
    help: 'Loop Apps whose latest load failed (the previous state keeps serving, if any)',
    registers: [this.registry],
    aggregator: 'max', // every worker loads every app: across workers, the same failures
    collect: (): void => this.loadErrors.set(this.failedLoads()),
  });
  private readonly validations = new client.Counter({
    name: 'loopai_validations_total',
    help: 'Oracle verdicts, by Loop App, version and whether the program was right',
    labelNames: ['loop_app_id', 'version', 'correct'],
    registers: [this.registry],
  });
  private readonly oracleCalls = new client.Counter({
    name: 'loopai_oracle_calls_total',
    help: 'Calls to an oracle (llm or http), by Loop App and result',
    labelNames: ['loop_app_id', 'oracle', 'result'],
    registers: [this.registry],
  });
  private readonly executionLogDropped = new client.Counter({
    name: 'loopai_execution_log_dropped_total',
    help: 'Execution log lines given up: writes kept failing (a full disk) past the backlog cap, or a record could not be serialised',
    registers: [this.registry],
  });
  private readonly spoolDropped = new client.Counter({
    name: 'loopai_edge_spool_dropped_total',
    help: 'Telemetry batches an edge gave up: the spool was full (edge.spool_max_mb), or the cloud refused one as invalid',
    labelNames: ['why'],
    registers: [this.registry],
  });
  private readonly spoolBytes = new client.Gauge({
    name: 'loopai_edge_spool_bytes',
    help: 'Telemetry an edge holds for its cloud, not yet sent, in bytes',
    registers: [this.registry],
    aggregator: 'max',
  });
  private readonly accuracy = new client.Gauge({
    name: 'loopai_accuracy',
    help: 'Accuracy of the active version over its latest verdicts (validation.window)',
    labelNames: ['loop_app_id', 'version'],
    registers: [this.registry],
    aggregator: 'max',
  });

  /** `clusterText`: with several workers, the metrics of all of them added up (see cluster/bus.ts). */
  constructor(private readonly clusterText: (() => Promise<string>) | null = null) {
    client.collectDefaultMetrics({ register: this.registry });
    if (clusterText) client.AggregatorRegistry.setRegistries([this.registry]);
  }

  /** Label children kept per app/version/outcome: the execute path then pays no label hashing per call. */
  private readonly perExecution = new Map<
    string,
    { count: client.Counter.Internal; latency: client.Histogram.Internal<string> }
  >();

  execution(appId: string, version: string, outcome: string, latencyMs: number, sampleRule?: string): void {
    const key = `${appId}\u0000${version}\u0000${outcome}`;
    let children = this.perExecution.get(key);
    if (!children) {
      children = {
        count: this.executions.labels(appId, version, outcome),
        latency: this.latency.labels(appId),
      };
      this.perExecution.set(key, children);
    }
    children.count.inc();
    children.latency.observe(latencyMs / 1000);
    if (sampleRule) this.samples.inc({ loop_app_id: appId, rule: sampleRule });
  }

  sandboxRestart(): void {
    this.restarts.inc();
  }

  reload(appId: string, ok: boolean): void {
    this.reloads.inc({ loop_app_id: appId, result: ok ? 'ok' : 'error' });
  }

  verdict(appId: string, version: string, correct: boolean): void {
    this.validations.inc({ loop_app_id: appId, version, correct: String(correct) });
  }

  oracleCall(appId: string, oracle: string, ok: boolean): void {
    this.oracleCalls.inc({ loop_app_id: appId, oracle, result: ok ? 'ok' : 'error' });
  }

  executionLinesDropped(lines: number): void {
    this.executionLogDropped.inc(lines);
  }

  edgeSpoolBytes(bytes: number): void {
    this.spoolBytes.set(bytes);
  }

  edgeSpoolDropped(batches: number, why: 'full' | 'refused'): void {
    this.spoolDropped.inc({ why }, batches);
  }

  setAccuracy(appId: string, version: string, accuracy: number | null): void {
    if (accuracy === null) this.accuracy.remove({ loop_app_id: appId, version });
    else this.accuracy.set({ loop_app_id: appId, version }, accuracy);
  }

  text(): Promise<string> {
    return this.clusterText ? this.clusterText() : this.registry.metrics();
  }
}
