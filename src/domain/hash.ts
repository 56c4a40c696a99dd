import crypto from 'node:crypto';

/** Hex sha256 of a text or bytes (versions, sandbox keys, API keys, files). */
export const sha256 = (data: string | Buffer): string =>
  crypto.createHash('sha256').update(data).digest('hex');

/**
 * Hex sha256 of several texts, each prefixed with its length so that no two lists hash alike; the texts are fed
 * one by one (a version's 400 KB of weights are not copied into one string first).
 */
export function sha256OfParts(parts: string[]): string {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:`).update(part);
  return hash.digest('hex');
}
