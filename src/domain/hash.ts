import crypto from 'node:crypto';

/** Hex sha256 of a text (versions, sandbox keys, API keys). */
export const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');
