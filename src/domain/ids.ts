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
