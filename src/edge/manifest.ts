import Ajv from 'ajv';
import { sha256 } from '../domain/hash';
import { isLoopAppId, MAX_VERSION_FILE_BYTES, VERSION_FILE_NAME, versionNumber } from '../domain/ids';
import type { FileDigest, LoopAppConfig } from '../domain/types';

/**
 * What a cloud tells its edges (`GET /edge/v1/manifest`): every Loop App the edge's key may see, with its config,
 * the version that serves and the canary, and each file of those versions by sha256 and size. Files are fetched
 * by digest (`GET /edge/v1/blobs/{sha256}`), so an edge fetches only what it does not hold yet.
 */
export const MANIFEST_FORMAT = 'loopai-edge-manifest/1';

export interface ManifestApp {
  loop_app_id: string;
  /** config.yaml as the cloud loaded it, without the teacher's headers (the edge never asks the oracle). */
  config: LoopAppConfig;
  /** The version that serves on the cloud (null: none yet). */
  active_version: string | null;
  canary: { version: string; percent: number } | null;
  /** The files of the active and canary versions, by name. */
  versions: Record<string, { files: Record<string, FileDigest> }>;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  apps: ManifestApp[];
  /** Apps the cloud has but cannot publish now (they failed to load there): an edge keeps what it has of them. */
  unavailable?: string[];
}

/** The largest manifest an edge reads (about 100,000 apps). */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
const MAX_FILES = 256;
const MAX_APPS = 100_000;

/** The same text for the same entry: an edge compares it with what it applied last. */
export const entryDigest = (app: ManifestApp): string => sha256(JSON.stringify(app));

const fileRef = {
  type: 'object',
  additionalProperties: false,
  required: ['sha256', 'size'],
  properties: {
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    size: { type: 'integer', minimum: 0, maximum: MAX_VERSION_FILE_BYTES },
  },
};

const manifestSchema = {
  type: 'object',
  required: ['format', 'apps'],
  properties: {
    format: { const: MANIFEST_FORMAT },
    unavailable: { type: 'array', maxItems: MAX_APPS, items: { type: 'string', maxLength: 63 } },
    apps: {
      type: 'array',
      maxItems: MAX_APPS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['loop_app_id', 'config', 'active_version', 'canary', 'versions'],
        properties: {
          loop_app_id: { type: 'string' },
          // checked as any config.yaml is, when the edge writes it
          config: { type: 'object' },
          active_version: { type: ['string', 'null'] },
          canary: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['version', 'percent'],
                properties: { version: { type: 'string' }, percent: { type: 'number' } },
              },
            ],
          },
          versions: {
            type: 'object',
            maxProperties: 2,
            additionalProperties: {
              type: 'object',
              additionalProperties: false,
              required: ['files'],
              properties: {
                files: {
                  type: 'object',
                  maxProperties: MAX_FILES,
                  propertyNames: { pattern: VERSION_FILE_NAME.source },
                  additionalProperties: fileRef,
                },
              },
            },
          },
        },
      },
    },
  },
};

const validateShape = new Ajv({ allErrors: false }).compile(manifestSchema);

/**
 * Checks a manifest from a cloud before anything of it is used (a cloud is a peer like any other): its shape,
 * every id and version name (before they become paths), and that the versions it names are the ones it lists.
 */
export function checkManifest(value: unknown): Manifest {
  if (!validateShape(value)) {
    const [e] = validateShape.errors ?? [];
    throw new Error(`the manifest is not valid: ${e ? `${e.instancePath || '/'} ${e.message}` : 'unknown'}`);
  }
  const manifest = value as unknown as Manifest;
  const seen = new Set<string>();
  for (const app of manifest.apps) {
    const id = app.loop_app_id;
    if (!isLoopAppId(id) || seen.has(id))
      throw new Error(`the manifest names app '${String(id).slice(0, 80)}' badly or twice`);
    seen.add(id);
    const named = [app.active_version, app.canary?.version].filter(
      (v): v is string => v !== null && v !== undefined,
    );
    for (const version of Object.keys(app.versions)) {
      if (versionNumber(version) === undefined)
        throw new Error(
          `the manifest of '${id}' names '${version.slice(0, 40)}', which is not a version name`,
        );
    }
    for (const version of named) {
      if (!Object.hasOwn(app.versions, version))
        throw new Error(`the manifest of '${id}' serves ${version} but does not list its files`);
    }
  }
  return manifest;
}

/** The bytes of a file a manifest names, when they are what it says (size and sha256); else an Error saying how not. */
export function checkBlob(data: Buffer, ref: FileDigest, what: string, source: string): Buffer {
  const digest = sha256(data);
  if (data.length !== ref.size || digest !== ref.sha256) {
    throw new Error(
      `${what}: ${source} sent ${data.length} bytes with sha256 ${digest}; the manifest says ${ref.size} bytes with sha256 ${ref.sha256}`,
    );
  }
  return data;
}
