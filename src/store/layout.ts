import path from 'node:path';
import { checkLoopAppId, checkSharedRef, checkVersion, EDGE_NAME, type SharedRef } from '../domain/ids';

/** Where everything lives under the data dir. Every id is checked before it becomes part of a path. */
export class Layout {
  readonly appsDir: string;

  constructor(readonly dataDir: string) {
    this.appsDir = path.join(dataDir, 'loop-apps');
  }

  /** What an edge keeps about its sync with the cloud (outside loop-apps/, which the watcher follows). */
  edgeState(): string {
    return path.join(this.dataDir, 'edge', 'state.json');
  }

  /** An edge's telemetry not yet sent to its cloud: one file per batch. */
  edgeSpool(): string {
    return path.join(this.dataDir, 'edge', 'spool');
  }
  /** What an edge has gathered into batches so far: read offsets and counters. */
  edgeTelemetry(): string {
    return path.join(this.dataDir, 'edge', 'telemetry.json');
  }

  /** Shared artifacts, by type: `shared/artifacts/models/`, … */
  sharedArtifacts(): string {
    return path.join(this.dataDir, 'shared', 'artifacts');
  }
  /** One shared artifact: `shared/artifacts/<type>s/<name>-<version>/`, its files and metadata.yaml. */
  sharedArtifact(ref: SharedRef): string {
    const { type, name, version } = checkSharedRef(ref);
    return path.join(this.sharedArtifacts(), `${type}s`, `${name}-${version}`);
  }
  /** What was published, verified, depended on and updated: one line an event. */
  sharedAudit(): string {
    return path.join(this.dataDir, 'shared', 'audit.jsonl');
  }

  app(id: string): string {
    return path.join(this.appsDir, checkLoopAppId(id));
  }
  /** The app folder a path inside it belongs to (`loop-apps/{id}/…` → `loop-apps/{id}`). */
  appFolderOf(file: string): string {
    return path.join(this.appsDir, path.relative(this.appsDir, file).split(path.sep)[0]);
  }
  config(id: string): string {
    return path.join(this.app(id), 'config.yaml');
  }
  artifacts(id: string): string {
    return path.join(this.app(id), 'artifacts');
  }
  version(id: string, version: string): string {
    return path.join(this.artifacts(id), checkVersion(version));
  }
  active(id: string): string {
    return path.join(this.artifacts(id), 'active');
  }
  datasets(id: string): string {
    return path.join(this.app(id), 'datasets');
  }
  examples(id: string): string {
    return path.join(this.datasets(id), 'examples.jsonl');
  }
  executionsDir(id: string): string {
    return path.join(this.datasets(id), 'executions');
  }
  validationsDir(id: string): string {
    return path.join(this.datasets(id), 'validations');
  }
  /** One line per oracle verdict. */
  verdicts(id: string): string {
    return path.join(this.validationsDir(id), 'sampled.jsonl');
  }
  /** Where validation has read up to, the samples waiting for an oracle, and the counters behind analytics. */
  validationState(id: string): string {
    return path.join(this.validationsDir(id), 'state.json');
  }
  dailyStats(id: string): string {
    return path.join(this.datasets(id), 'analytics', 'daily-stats.json');
  }
  events(id: string): string {
    return path.join(this.datasets(id), 'events.jsonl');
  }
  /** `datasets/executions/YYYY-MM-DD.jsonl` by UTC day; `YYYY-MM-DD.<worker>.jsonl` for one of several workers. */
  executions(id: string, day: string, worker: number | null = null): string {
    return path.join(this.executionsDir(id), worker === null ? `${day}.jsonl` : `${day}.${worker}.jsonl`);
  }
  /** At a cloud: the samples an edge sent, by the day they ran (`YYYY-MM-DD.edge-<name>.jsonl`). */
  edgeExecutions(id: string, day: string, edge: string): string {
    if (!EDGE_NAME.test(edge)) throw new Error(`'${edge.slice(0, 80)}' is not an edge name`);
    return path.join(this.executionsDir(id), `${day}.edge-${edge}.jsonl`);
  }
}
