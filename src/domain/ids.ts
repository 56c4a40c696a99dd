import crypto from 'node:crypto';
import { badRequest } from './errors';

const ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const VERSION = /^v([1-9][0-9]{0,8})$/;

export const isLoopAppId = (id: unknown): id is string => typeof id === 'string' && ID.test(id);

/** Refuses anything that is not a Loop App id before it can be joined into a path. */
export function checkLoopAppId(id: unknown): string {
  if (!isLoopAppId(id)) {
    throw badRequest(
      'invalid_id',
      `Loop App id must match ${ID.source} (lower-case letters, digits and '-', 2-63 characters)`,
      { id: typeof id === 'string' ? id.slice(0, 80) : id },
    );
  }
  return id;
}

/** An edge's name: part of file names at its cloud (`YYYY-MM-DD.edge-<name>.jsonl`). */
export const EDGE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A host name made into an edge name (lower case; anything else than letters, digits and '-' becomes '-'). */
export const edgeName = (host: string): string =>
  host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63) || 'edge';

/** A file of a version: a plain name, no path, not hidden. */
export const VERSION_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** The largest file a version may hold. */
export const MAX_VERSION_FILE_BYTES = 16 * 1024 * 1024;

/** What a shared artifact is: its folder under `shared/artifacts/` is the plural (`models/`, …). */
export const SHARED_TYPES = ['model', 'vectorizer', 'embedding'] as const;
export type SharedType = (typeof SHARED_TYPES)[number];
/** A shared artifact's name (its folder is `<name>-<version>`). */
export const SHARED_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A shared artifact by type, name and version. */
export interface SharedRef {
  type: SharedType;
  name: string;
  version: string;
}

/** Refuses a reference that is not a shared artifact's before it can be joined into a path. */
export function checkSharedRef(ref: SharedRef): SharedRef {
  if (!SHARED_TYPES.includes(ref.type))
    throw badRequest('bad_request', `a shared artifact's type is one of ${SHARED_TYPES.join(', ')}`);
  if (typeof ref.name !== 'string' || !SHARED_NAME.test(ref.name))
    throw badRequest('bad_request', `a shared artifact's name must match ${SHARED_NAME.source}`);
  checkVersion(ref.version);
  return ref;
}

/** `v3` → 3; anything else → undefined. */
export function versionNumber(name: string): number | undefined {
  const m = VERSION.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function checkVersion(name: unknown): string {
  if (typeof name !== 'string' || versionNumber(name) === undefined) {
    throw badRequest('invalid_version', 'version must look like v1, v2, …', { version: name });
  }
  return name;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter, then random bits. Time-ordered, so an
 * execution id names the day file its record went to, and feedback finds it without searching every day; the
 * counter (RFC 9562's method 1, from a random start each millisecond) orders the ids one process makes within a
 * millisecond as they were made.
 */
export function executionId(now = Date.now()): string {
  if (now !== lastMs && now !== borrowedFrom) {
    lastMs = now;
    borrowedFrom = -1;
    counter = Math.floor(Math.random() * 2048);
  } else if (++counter > 0xfff) {
    // more than 2,048 ids in a millisecond: borrow the next one, so the order holds
    borrowedFrom = now;
    lastMs += 1;
    counter = 0;
  }
  if (lastMs !== prefixMs) {
    prefixMs = lastMs;
    const time = lastMs.toString(16).padStart(12, '0');
    timePrefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
  }
  // randomUUID is a v4 with its variant bits set and is fast (pooled entropy): keep its random tail
  return timePrefix + counter.toString(16).padStart(3, '0') + crypto.randomUUID().slice(18);
}

/** The time and counter of the last id, the clock reading that borrowed it, and the time of the prefix. */
let lastMs = -1;
let borrowedFrom = -1;
let counter = 0;
let prefixMs = -1;
let timePrefix = '';

/** The UTC day (YYYY-MM-DD) a UUIDv7 execution id was made on; null for any other id. */
export function executionDay(id: string): string | null {
  if (!UUID.test(id) || id[14] !== '7') return null;
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return new Date(ms).toISOString().slice(0, 10);
}

export function checkExecutionId(id: unknown): string {
  if (typeof id !== 'string' || !UUID.test(id)) {
    throw badRequest('invalid_execution_id', 'execution_id must be the UUID an execute response returned');
  }
  return id;
}
