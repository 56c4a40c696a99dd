import crypto from 'node:crypto';
import type { LoopAppConfig, RedactRule } from '../domain/types';

/** Patterns for personal data in stored inputs. Replaced with a tag, so people can see what was removed. */
const PATTERNS: Record<RedactRule, RegExp> = {
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  // 13-19 digits, optionally grouped by spaces or dashes (card numbers); checked before phone numbers
  card: /\b(?:\d[ -]?){12,18}\d\b/g,
  // international or local numbers: optional +, 7-15 digits with common separators
  phone: /(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){2,4}\b/g,
};
const ORDER: RedactRule[] = ['email', 'card', 'phone'];

export function redactText(text: string, rules: RedactRule[]): string {
  let out = text;
  for (const rule of ORDER) if (rules.includes(rule)) out = out.replace(PATTERNS[rule], `[${rule}]`);
  return out;
}

function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  }
  return value;
}

export const hashInput = (input: unknown): string =>
  'sha256:' + crypto.createHash('sha256').update(JSON.stringify(input)).digest('hex');

/**
 * What of an input may be written to disk, per `privacy` in config.yaml:
 * `full` keeps it (minus any `redact` patterns listed), `redacted` removes the listed patterns (all of them
 * when none are listed), `hashed` keeps only a sha256, `none` keeps nothing.
 */
export function storedInput(
  input: unknown,
  privacy: LoopAppConfig['privacy'],
): { input: unknown; input_hash?: string } {
  switch (privacy.store_inputs) {
    case 'none':
      return { input: null };
    case 'hashed':
      return { input: null, input_hash: hashInput(input) };
    case 'redacted': {
      const rules = privacy.redact.length ? privacy.redact : ORDER;
      return { input: mapStrings(input, (s) => redactText(s, rules)) };
    }
    default:
      return {
        input: privacy.redact.length ? mapStrings(input, (s) => redactText(s, privacy.redact)) : input,
      };
  }
}
