/**
 * A version's `dependencies.yaml`: the shared artifacts it uses, each pinned by type, name, version and hash,
 * and the local artifacts beside its program. Without the file a version is fully isolated.
 */
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { SHARED_NAME, SHARED_TYPES, VERSION_FILE_NAME, type SharedRef } from '../domain/ids';
import { DEPENDENCIES, type SharedFiles, type VerifiedArtifact } from '../store/shared-files';
import type { SharedTexts } from './sandbox/protocol';

export { DEPENDENCIES };
const MAX_SHARED = 32;

export interface SharedDependency extends SharedRef {
  hash: string;
  /** `pinned` (the default): nothing changes under the version; `auto`: new versions of it are proposed. */
  update_policy?: 'pinned' | 'auto';
  /** Where it is, as the concepts document writes it; when given it must name the same artifact. */
  path?: string;
}

export interface Dependencies {
  shared_artifacts?: SharedDependency[];
  local_artifacts?: Array<{ type: string; path: string; description?: string }>;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    shared_artifacts: {
      type: 'array',
      maxItems: MAX_SHARED,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'name', 'version', 'hash'],
        properties: {
          type: { enum: [...SHARED_TYPES] },
          name: { type: 'string', pattern: SHARED_NAME.source },
          version: { type: 'string', pattern: '^v[1-9][0-9]{0,8}$' },
          hash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
          update_policy: { enum: ['pinned', 'auto'] },
          path: { type: 'string', maxLength: 300 },
        },
      },
    },
    local_artifacts: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'path'],
        properties: {
          type: { type: 'string', maxLength: 100 },
          path: { type: 'string', maxLength: 300 },
          description: { type: 'string', maxLength: 2000 },
        },
      },
    },
  },
} as const;
const validate = new Ajv({ allErrors: false }).compile<Dependencies>(schema);

/** dependencies.yaml read and checked against the version's own files; an Error saying what is wrong. */
export function parseDependencies(text: string, files: Record<string, string>): Dependencies {
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA }) ?? {};
  } catch (err) {
    throw new Error(`${DEPENDENCIES} is not YAML: ${(err as Error).message}`);
  }
  if (!validate(parsed)) {
    const e = validate.errors![0];
    throw new Error(`${DEPENDENCIES}: ${e.instancePath || '/'} ${e.message}`);
  }
  const names = new Set<string>();
  for (const dep of parsed.shared_artifacts ?? []) {
    if (names.has(dep.name)) throw new Error(`${DEPENDENCIES}: two shared artifacts are named '${dep.name}'`);
    names.add(dep.name);
    const where = `/shared/artifacts/${dep.type}s/${dep.name}-${dep.version}`;
    if (dep.path !== undefined && dep.path.replace(/\/+$/, '') !== where)
      throw new Error(
        `${DEPENDENCIES}: '${dep.name}' says path ${dep.path}, but ${dep.type} ${dep.version} is at ${where}/`,
      );
  }
  for (const local of parsed.local_artifacts ?? []) {
    const file = /^\.\/(.+)$/.exec(local.path)?.[1];
    if (!file || !VERSION_FILE_NAME.test(file) || !Object.hasOwn(files, file))
      throw new Error(`${DEPENDENCIES}: local artifact ${local.path} is not a file of this version (./name)`);
  }
  return parsed;
}

/**
 * The verified shared artifacts a version depends on, by name; an Error naming the first that fails. What the
 * version already holds, verified when it loaded (`held`), is used again under the same pin: the program keeps
 * the bytes it was checked with, even if the copy on disk was damaged since.
 */
export async function verifiedShared(
  shared: SharedFiles,
  deps: Dependencies,
  held: SharedTexts | undefined,
): Promise<SharedTexts> {
  const list = deps.shared_artifacts ?? [];
  const verified = await Promise.all(
    list.map((dep) => {
      const kept = held?.[dep.name];
      if (kept?.hash === dep.hash) return kept;
      return shared
        .verified(dep, dep.hash)
        .then((a: VerifiedArtifact) => ({ hash: a.metadata.hash, files: a.files }));
    }),
  );
  const out: SharedTexts = Object.create(null);
  list.forEach((dep, i) => (out[dep.name] = verified[i]));
  return out;
}
