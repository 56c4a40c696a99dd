import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import yaml from 'js-yaml';
import { ApiError, badRequest, conflict, notFound } from '../domain/errors';
import { checkLoopAppId, checkVersion } from '../domain/ids';
import { DEFAULT_SETTINGS } from '../domain/schemas';
import type { LabelledExample, LoopAppConfig, VersionMetadata, VersionStatus } from '../domain/types';
import { KeyedLock } from '../store/keyed-lock';
import { compileSchemas } from './app-config';
import {
  checkExamples,
  checkSettingsPatch,
  checkSpec,
  checkUpload,
  isPlainObject,
  unstorableExample,
  type ProgramUpload,
} from './input-checks';
import { programSource } from './program-check';
import type { LiveApp, Registry } from './registry';
import type { Notify } from '../telemetry/webhooks';

export type { ProgramUpload } from './input-checks';

type NewVersionMeta = Partial<Omit<VersionMetadata, 'version' | 'sha256' | 'files' | 'created_at'>> & {
  generator: string;
};

export interface VersionView extends Omit<VersionMetadata, 'status'> {
  status: VersionStatus;
}

/**
 * Loop App lifecycle: every change is written to the store through `registry.update`, which reloads the app once
 * after the write, so a client reads its own writes (and the watcher's echo of them reloads nothing). The writes
 * of one app run one at a time (parallel requests queue, they do not race); the public methods take that lock,
 * the private ones run under it.
 */
export class Lifecycle {
  private readonly writes = new KeyedLock();

  constructor(
    readonly registry: Registry,
    /** Tells webhooks about new versions, promotions and rollbacks. */
    private readonly notify: Notify = () => undefined,
  ) {}

  private get store() {
    return this.registry.store;
  }

  /** Checks a spec (+ settings) for creation; returns the config to write. Throws 400/409 saying what to fix. */
  async checkNew(body: Record<string, unknown>): Promise<LoopAppConfig> {
    const config = checkSpec(body);
    const id = checkLoopAppId(config.loop_app_id);
    if (await this.store.exists(id)) throw conflict(`a Loop App '${id}' already exists`);
    return config;
  }

  /** Creates the app folder (no version yet) and loads it. */
  create(config: LoopAppConfig): Promise<void> {
    const id = config.loop_app_id;
    return this.writes.run(id, () => this.registry.update(id, () => this.createFolder(config)));
  }

  private async createFolder(config: LoopAppConfig): Promise<void> {
    try {
      await this.store.createApp(config.loop_app_id, config);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw conflict(`a Loop App '${config.loop_app_id}' already exists`);
      throw err;
    }
  }

  /**
   * Creates an app with a hand-written first version that becomes active at once: checked once before anything
   * is written, then folder, version and `active` are written and loaded together.
   */
  async createWithProgram(config: LoopAppConfig, upload: ProgramUpload): Promise<VersionView> {
    const id = config.loop_app_id;
    await this.checkProgram(id, upload, config);
    return this.writes.run(id, async () => {
      const meta = await this.registry.update(id, async () => {
        await this.createFolder(config);
        const written = await this.writeVersion(id, upload, { generator: 'upload', parent: null });
        await this.store.activate(id, written.version, 'created');
        return written;
      });
      this.notify('version_promoted', id, { version: meta.version, from: null, reason: 'created' });
      return this.version(id, meta.version);
    });
  }

  app(id: string): LiveApp {
    return this.registry.require(id);
  }

  /** Checks labelled rows against the app's schemas; 400 listing every bad row (see checkExamples). */
  checkExamples(
    spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'>,
    rows: unknown,
    validators = compileSchemas(spec),
  ): Array<{ input: unknown; output: unknown }> {
    return checkExamples(spec, rows, validators);
  }

  /** Appends checked labelled rows to `datasets/examples.jsonl`. */
  async addExamples(id: string, rows: unknown, source: LabelledExample['source'] = 'user'): Promise<number> {
    const app = this.app(id);
    const checked = this.checkExamples(app.config, rows, app.validators);
    const ts = new Date().toISOString();
    const labelled = checked.map((r) => ({ ...r, source, ts }));
    await this.writes
      .run(id, () => this.store.appendExamples(id, labelled))
      .catch((err) => {
        throw unstorableExample(err);
      });
    return checked.length;
  }

  /**
   * Adds a streamed upload of labelled rows: `receive` checks them into a temporary file (refusing all on a bad
   * row), which is then appended to examples.jsonl all or nothing. Resolves to rows added and the new total.
   */
  async addExamplesStreamed(
    id: string,
    receive: (app: LiveApp, file: string) => Promise<number>,
  ): Promise<{ added: number; total: number }> {
    const app = this.app(id);
    const file = this.store.uploadFile(id);
    try {
      const added = await receive(app, file);
      const total = await this.writes.run(id, () =>
        this.store.appendExamplesFile(id, file, `${added} uploaded examples`),
      );
      return { added, total };
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  /** Applies a settings patch to config.yaml (read from disk, so hand edits made meanwhile are kept). */
  updateSettings(id: string, patch: unknown): Promise<LiveApp> {
    this.app(id);
    return this.writes.run(id, () => this.writeSettings(id, patch));
  }

  private async writeSettings(id: string, patch: unknown): Promise<LiveApp> {
    const app = this.app(id);
    checkSettingsPatch(patch);
    const text = await this.store.readConfigText(id);
    const onDisk = (text ? yaml.load(text) : app.config) as Record<string, unknown>;
    const next: Record<string, unknown> = { ...onDisk };
    for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
      const before = onDisk[key];
      next[key] = isPlainObject(before) && isPlainObject(value) ? { ...before, ...value } : value;
    }
    await this.registry.update(id, () => this.store.writeConfig(id, next));
    const reloaded = this.app(id);
    if (reloaded.loadError) {
      // what was written does not load: put the working config back and say why
      await this.registry.update(id, () => this.store.writeConfig(id, onDisk));
      throw badRequest('invalid_settings', reloaded.loadError);
    }
    return reloaded;
  }

  setStatus(id: string, status: LoopAppConfig['status']): Promise<LiveApp> {
    return this.updateSettings(id, { status });
  }

  /** The self-check of a program not yet written, in the sandbox; 422 with the reason if it fails. */
  async checkProgram(
    id: string,
    upload: ProgramUpload,
    spec: Pick<LoopAppConfig, 'input_schema' | 'output_schema'> & { execution?: LoopAppConfig['execution'] },
    validators = compileSchemas(spec),
  ): Promise<void> {
    checkUpload(upload);
    // a key of its own per check: two requests checking the same code must not unload it under each other
    const key = `${id}@check@${crypto.randomUUID()}`;
    const execution = spec.execution ?? DEFAULT_SETTINGS.execution;
    const source = programSource(key, upload.code, upload.files ?? {}, execution);
    try {
      await this.registry.selfCheck(source, spec.input_schema, validators);
    } catch (err) {
      throw new ApiError('invalid_program', (err as Error).message);
    }
  }

  /** Writes `vN+1` with status `testing` (not active). */
  addVersion(id: string, upload: ProgramUpload, meta: NewVersionMeta): Promise<VersionMetadata> {
    return this.writes.run(id, () => this.writeVersion(id, upload, meta));
  }

  private async writeVersion(
    id: string,
    upload: ProgramUpload,
    meta: NewVersionMeta,
  ): Promise<VersionMetadata> {
    checkUpload(upload);
    const written = await this.store.writeVersion(
      id,
      { 'program.js': upload.code, ...(upload.files ?? {}) },
      { parent: await this.store.activeVersion(id), status: 'testing', ...meta },
    );
    this.notify('version_created', id, {
      version: written.version,
      generator: written.generator,
      eval: written.eval,
    });
    return written;
  }

  /** Uploads a hand-written version after checking it in the sandbox. */
  async uploadVersion(id: string, upload: ProgramUpload): Promise<VersionView> {
    const app = this.app(id);
    await this.checkProgram(id, upload, app.config, app.validators);
    const meta = await this.writes.run(id, () =>
      this.registry.update(id, () => this.writeVersion(id, upload, { generator: 'upload' })),
    );
    return this.version(id, meta.version);
  }

  async versions(id: string): Promise<VersionView[]> {
    this.app(id);
    const names = await this.store.listVersionNames(id);
    return Promise.all(names.map((v) => this.version(id, v)));
  }

  async version(id: string, version: string): Promise<VersionView> {
    checkVersion(version);
    const meta = await this.store.readMetadata(id, version);
    const names = await this.store.listVersionNames(id);
    if (!names.includes(version)) throw notFound(`Loop App '${id}' has no version ${version}`);
    const active = await this.store.activeVersion(id);
    const live = this.registry.get(id);
    const status = statusOf(version, active, live?.candidate?.version, meta);
    return {
      ...(meta ?? { version, created_at: '', generator: 'unknown', parent: null, sha256: '', files: {} }),
      version,
      status,
    };
  }

  /** Checks the version loads and answers, then flips `active` to it. */
  activate(id: string, version: string, reason = 'manual'): Promise<VersionView> {
    return this.writes.run(id, () => this.flip(id, version, reason));
  }

  /** Marks a version deprecated: from then on it is activated or rolled back to only with `force`. */
  deprecate(id: string, version: string, reason: string | null): Promise<VersionView> {
    this.app(id);
    return this.writes.run(id, async () => {
      const view = await this.version(id, version);
      if (view.status === 'active' || view.status === 'canary') {
        throw conflict(
          `${version} is ${view.status === 'active' ? 'the active version' : 'in canary'} of '${id}'; activate another version first`,
        );
      }
      const deprecated = { at: new Date().toISOString(), reason };
      await this.store.updateMetadata(id, version, { deprecated });
      await this.recordByHand(id, 'deprecated', `${version} deprecated over the API`, version, null);
      return { ...view, deprecated, status: 'deprecated' };
    });
  }

  /** Takes a deprecation back. */
  reinstate(id: string, version: string): Promise<VersionView> {
    this.app(id);
    return this.writes.run(id, async () => {
      await this.version(id, version); // 404 for a version that does not exist
      await this.store.updateMetadata(id, version, { deprecated: undefined });
      await this.recordByHand(id, 'reinstated', `${version} reinstated over the API`, version, null);
      return this.version(id, version);
    });
  }

  private async flip(id: string, version: string, reason: string, force = false): Promise<VersionView> {
    checkVersion(version);
    const names = await this.store.listVersionNames(id);
    if (!names.includes(version)) throw notFound(`Loop App '${id}' has no version ${version}`);
    const deprecated = (await this.store.readMetadata(id, version))?.deprecated;
    if (deprecated && !force) {
      throw new ApiError(
        'version_deprecated',
        `${version} of '${id}' is deprecated${deprecated.reason ? ` (${deprecated.reason})` : ''}; reinstate it, or send {"force": true}`,
        { version, deprecated },
      );
    }
    const from = await this.store.activeVersion(id);
    await this.registry.update(id, () => this.store.activate(id, version, reason), version);
    this.notify(reason === 'rollback' ? 'version_rolled_back' : 'version_promoted', id, {
      version,
      from,
      reason,
    });
    return this.version(id, version);
  }

  /** Goes back to the version that was active before the current one (activations form a stack). */
  rollback(id: string, force = false): Promise<VersionView> {
    this.app(id);
    return this.writes.run(id, () => this.rollBack(id, force));
  }

  private async rollBack(id: string, force: boolean): Promise<VersionView> {
    const current = await this.store.activeVersion(id);
    const records = await this.store.activations(id);
    // a version made active by hand (a link written before any recorded activation) is the bottom of the stack
    const stack: string[] = records[0]?.from ? [records[0].from] : [];
    for (const record of records) {
      if (record.reason === 'rollback') stack.pop();
      else stack.push(record.version);
    }
    while (stack.length && stack[stack.length - 1] === current) stack.pop();
    const target = stack[stack.length - 1];
    if (!target) throw conflict(`Loop App '${id}' has no earlier active version to roll back to`);
    const view = await this.flip(id, target, 'rollback', force);
    await this.recordByHand(
      id,
      'rolled_back',
      `${current} rolled back to ${target} over the API`,
      target,
      current,
    );
    return view;
  }

  /** A person's activation: the same event log as the policy's decisions, so the history is whole. */
  activateByHand(id: string, version: string, force = false): Promise<VersionView> {
    return this.writes.run(id, async () => {
      const from = await this.store.activeVersion(id);
      const view = await this.flip(id, version, 'manual', force);
      await this.recordByHand(
        id,
        'activated',
        `${version} activated over the API (was ${from ?? 'none'})`,
        version,
        from,
      );
      return view;
    });
  }

  private recordByHand(id: string, type: string, message: string, version: string, from: string | null) {
    return this.store.appendEvent(id, {
      ts: new Date().toISOString(),
      type,
      loop_app_id: id,
      version,
      from,
      message,
    });
  }
}

/** What a version is now: the `active` link and the rollout say active and canary; its metadata the rest. */
function statusOf(
  version: string,
  active: string | null,
  canary: string | undefined,
  meta: VersionMetadata | null,
): VersionStatus {
  if (version === active) return 'active';
  if (version === canary) return 'canary';
  if (meta?.deprecated) return 'deprecated';
  // a replaced version; data written before `retired` existed says `deprecated` for the same thing
  if (meta?.status === 'active' || meta?.status === 'deprecated') return 'retired';
  return meta?.status ?? 'testing';
}
