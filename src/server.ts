import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpHandler, type RouteInfo } from './http/app';
import { Auth } from './http/auth';
import { answerClientErrors } from './http/client-errors';
import { createLogger, type Logger } from './logger';
import { Lifecycle } from './runtime/lifecycle';
import { Executor } from './runtime/executor';
import { Registry } from './runtime/registry';
import { SandboxPool } from './runtime/sandbox/pool';
import { loadSettings, type Settings } from './settings';
import { AppStore } from './store/app-store';
import { ExecutionLog } from './telemetry/execution-log';
import { SampleInputs, Sampler } from './telemetry/sampler';
import { Metrics } from './telemetry/metrics';
import { Webhooks } from './telemetry/webhooks';
import { HttpOracle, LlmOracle } from './improvement/oracles';
import { ImprovementPolicy } from './improvement/policy';
import { Scheduler } from './improvement/scheduler';
import { Validator } from './improvement/validator';
import { improvementRoutes } from './http/routes/improvement';
import { dashboardRoutes } from './http/routes/dashboard';
import { AppWatcher } from './watch/watcher';
import { jobRoutes } from './http/routes/jobs';
import { Jobs } from './synthesis/jobs';
import { LearnerGenerator } from './synthesis/learner-generator';
import { createLlmClient } from './synthesis/llm/client';
import { LlmGenerator } from './synthesis/llm/generator';
import { Synthesizer } from './synthesis/synthesizer';
import type { WorkerBus } from './cluster/bus';
import { leaderProxy } from './cluster/leader-proxy';
import { keptInputs, sandboxChildren, serveBus } from './cluster/worker';
import { closeServer, listen, listenOnSocket, workerHandler } from './cluster/listen';
import { EdgeSync } from './edge/sync';
import { CloudClient } from './edge/cloud-client';
import { ManifestPublisher } from './edge/publisher';
import { edgeRoutes } from './http/routes/edge';
import { TelemetryIntake } from './edge/intake';
import { TelemetryShipper } from './edge/telemetry';
import { bundleRoutes } from './http/routes/bundles';
import { sharedRoutes } from './http/routes/shared';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Secure by default: without API keys the server listens on loopback only, whatever `host` says, unless
 * `auth.allow_anonymous` is set (and then it warns).
 */
function listenHost(settings: Settings, log: Logger): string {
  const { host, auth } = settings;
  if (auth.api_keys.length) {
    log.info('API keys required', {
      keys: auth.api_keys.length,
      rate_limit_per_minute: auth.rate_limit_per_minute,
    });
    return host;
  }
  if (LOOPBACK.test(host)) {
    log.info('no API keys configured: serving anonymously on loopback only');
    return host;
  }
  if (auth.allow_anonymous) {
    log.warn(
      'no API keys configured and allow_anonymous is set: anyone who can reach this server may do anything',
      {
        host,
      },
    );
    return host;
  }
  log.warn(
    `no API keys configured: listening on 127.0.0.1 instead of ${host}; set LOOPAI_API_KEYS (or auth.api_keys) to serve other interfaces, or LOOPAI_ALLOW_ANONYMOUS=true`,
  );
  return '127.0.0.1';
}

export interface RunningServer {
  url: string;
  settings: Settings;
  registry: Registry;
  lifecycle: Lifecycle;
  synthesizer: Synthesizer;
  logger: Logger;
  /** Every route the server answers. */
  routes: () => RouteInfo[];
  /** Graceful stop: no new connections, in-flight requests finish, logs are flushed, children stopped. */
  close(): Promise<void>;
}

/** The composition root: settings → store → registry → watcher → http. */
export async function startServer(
  overrides: Partial<Settings> = {},
  logger?: Logger,
  bus: WorkerBus | null = null,
): Promise<RunningServer> {
  const settings = loadSettings(overrides);
  const log = logger ?? createLogger(settings.log_level, settings.log_format);
  // with several workers, the leader writes, validates and runs the schedules; every worker serves execute
  const leads = !bus || bus.leader;
  const store = new AppStore(settings.data_dir);
  const metrics = new Metrics(bus && (() => bus.metrics()));
  const webhooks = new Webhooks(settings.webhooks, log);
  const pool = new SandboxPool({
    size: sandboxChildren(settings, bus),
    childHeapMb: settings.sandbox.child_heap_mb,
    childRssMb: settings.sandbox.child_rss_mb,
    onRestart: (child, reason) => {
      metrics.sandboxRestart();
      log.warn('sandbox child restarted', { child, reason });
    },
  });
  const registry: Registry = new Registry(store, pool, log, {
    idleUnloadMs: 10 * 60_000,
    retryDelayMs: 1000,
    onReload: (id, error) => {
      metrics.reload(id, error === null);
      if (error !== null && leads) webhooks.notify('load_error', id, { error });
    },
    removeLeftovers: leads,
    afterUpdate: bus ? (id) => bus.broadcast({ type: 'reload', app: id }) : undefined,
  });
  metrics.failedLoads = () => registry.failedLoads();
  const executions = new ExecutionLog(
    store.layout,
    settings.execution_log.flush_interval_ms,
    (err) =>
      log.error('execution log write failed; its lines are kept for the next flush', { error: String(err) }),
    {
      onDrop: (file, lines, why) => {
        metrics.executionLinesDropped(lines);
        log.error('execution log lines dropped', { file, lines, why });
      },
      worker: bus?.index ?? null,
    },
  );
  const lifecycle = new Lifecycle(registry, webhooks.notify);
  const sampleInputs = new SampleInputs();
  const executor = new Executor(registry, {
    log: executions,
    sampler: new Sampler(),
    sampleInputs: keptInputs(bus, sampleInputs),
    metrics,
    logger: log,
  });
  const llm = createLlmClient(settings.llm);
  const generators = [
    new LearnerGenerator(),
    new LlmGenerator(llm, { model: settings.llm.model, repairRounds: settings.llm.repair_rounds }),
  ];
  const synthesizer = new Synthesizer(lifecycle, generators, settings.generator, new Jobs(log));
  // aborted first thing at close: oracle requests and back-off pauses in flight end at once
  const stopping = new AbortController();
  // every oracle call, back-off pause and long-poll in flight listens to it: many at once is no leak
  setMaxListeners(Infinity, stopping.signal);
  const validator = new Validator({
    registry,
    oracles: {
      llm: new LlmOracle(llm, settings.llm.model, stopping.signal),
      http: new HttpOracle(stopping.signal),
    },
    sampleInputs,
    metrics,
    // the leader reads every worker's log: each writes what it holds first
    flushExecutions: () => flushExecutions(),
    logger: log,
  });
  const policy = new ImprovementPolicy(lifecycle, synthesizer, validator, log, webhooks.notify);
  const scheduler = new Scheduler(registry, validator, policy, log);
  const watcher = new AppWatcher(store.layout.appsDir, (id) => registry.reloadChanged(id), log);
  // an edge serves what its cloud made; a cloud publishes what it serves to its edges
  const isEdge = settings.role === 'edge';
  const cloud = isEdge && settings.cloud.url ? new CloudClient(settings.cloud, stopping.signal) : null;
  const edge = isEdge ? new EdgeSync(registry, cloud, settings.cloud, log) : null;
  const flushExecutions = async () =>
    void (await Promise.all([executions.flush(), bus?.broadcast({ type: 'flush' })]));
  const shipper =
    cloud && leads
      ? new TelemetryShipper(registry, cloud, settings.edge, metrics, log, flushExecutions)
      : null;
  // what an edge is fed: the cloud's manifest, or a bundle exported from any server that learns
  const publisher = isEdge ? null : new ManifestPublisher(registry, log);
  const intake = settings.role === 'cloud' ? new TelemetryIntake(registry, validator, log) : null;
  let loaded = false;

  // the watcher walks the tree on its own threads while the apps load: a change made meanwhile reloads its app
  await Promise.all([watcher.start(), registry.loadAll(), edge?.restore(), shipper?.restore()]);
  if (leads) scheduler.start(!edge);
  if (leads && edge && settings.edge.bundle) {
    await edge.importBundle(settings.edge.bundle).catch((err: Error) =>
      log.error('the bundle could not be applied; what was there keeps serving', {
        bundle: settings.edge.bundle,
        error: err.message,
      }),
    );
  }
  if (leads) edge?.start();
  else edge?.follow();
  shipper?.start();
  if (bus) serveBus(bus, { registry, executions, sampleInputs });
  loaded = true;
  const isReady = () => loaded && (edge?.ready ?? true);

  const auth = new Auth(settings.auth);
  const bodyLimits = { maxBytes: settings.max_body_bytes, maxDepth: settings.max_json_depth };
  const host = listenHost(settings, log);
  const handler = createHttpHandler({
    lifecycle,
    auth,
    executor,
    synthesizer,
    policy,
    bodyLimits,
    examplesMaxBytes: settings.max_examples_bytes,
    metrics,
    logger: log,
    isReady,
    role: settings.role,
    edge: edge ?? undefined,
    routers: [
      jobRoutes(synthesizer.jobs),
      sharedRoutes(registry.store, bodyLimits),
      bundleRoutes({
        registry,
        publisher: publisher ?? undefined,
        edge: edge ?? undefined,
        maxBytes: settings.max_examples_bytes,
      }),
    ],
    openRouters: [
      dashboardRoutes(),
      ...(publisher && intake ? [edgeRoutes({ publisher, intake }, auth, bodyLimits, stopping.signal)] : []),
    ],
    loopAppRouters: [
      improvementRoutes({ lifecycle, validator, policy, bodyLimits, edgeFeedback: shipper ?? undefined }),
    ],
  });
  const server = http.createServer(
    leads ? handler : workerHandler(handler, leaderProxy(bus!.leaderSocket, log)),
  );
  answerClientErrors(server);
  server.keepAliveTimeout = 65_000;
  await listen(server, settings.port, host);
  // the leader also answers the other workers' requests, on a socket of its own
  const internal = bus?.leader ? http.createServer(handler) : null;
  if (internal) await listenOnSocket(internal, bus!.leaderSocket);
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('loopai listening', { url, data_dir: settings.data_dir, loop_apps: registry.list().length });

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      loaded = false;
      stopping.abort();
      publisher?.close();
      await Promise.all([server, internal].map((s) => s && closeServer(s)));
      await watcher.close();
      await edge?.close();
      await shipper?.close(); // what the log gained since the last batch is spooled for the next run
      await scheduler.close(); // validation passes in flight finish (their oracles stopped) before what they use
      webhooks.close();
      await synthesizer.jobs.idle();
      await registry.close();
      await executions.flush();
      await pool.close();
    })());
  return { url, settings, registry, lifecycle, synthesizer, logger: log, routes: handler.routes, close };
}
