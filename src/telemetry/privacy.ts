import crypto from 'node:crypto';
import type { LoopAppConfig, RedactRule } from '../domain/types';

/**
 * Finders of personal data in stored inputs, each linear in the length of the text (inputs are hostile: a
 * backtracking pattern such as `[a-z]+@` on 150,000 letters once blocked the server for 11 s). Matches are
 * replaced with a tag, so people can see what was removed.
 */
type Finder = (text: string, replacement: string) => string;

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const LETTER = /[A-Za-z]/;

/**
 * What `/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g` finds, by a scan that visits each character a
 * bounded number of times: from every `@`, back over the local part (never past the previous match) and forward
 * over the domain to its last `.` followed by two or more letters.
 */
const redactEmails: Finder = (text, replacement) => {
  let out = '';
  let copied = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > copied && LOCAL_CHAR.test(text[start - 1])) start--;
    if (start === at) continue;
    let domainEnd = at + 1;
    while (domainEnd < text.length && DOMAIN_CHAR.test(text[domainEnd])) domainEnd++;
    let end = -1;
    for (let dot = domainEnd - 3; dot > at + 1 && end === -1; dot--) {
      if (text[dot] === '.' && LETTER.test(text[dot + 1]) && LETTER.test(text[dot + 2])) {
        end = dot + 3;
        while (end < text.length && LETTER.test(text[end])) end++;
      }
    }
    if (end === -1) continue;
    out += text.slice(copied, start) + replacement;
    copied = end;
    at = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
};

/**
 * Patterns whose every repetition is bounded, each starting only where a number starts (the look-behind): the
 * work at a position is bounded by a constant and most positions fail at once.
 */
const bounded =
  (pattern: RegExp): Finder =>
  (text, replacement) =>
    text.replace(pattern, replacement);

const FINDERS: Record<RedactRule, Finder> = {
  email: redactEmails,
  // 13-19 digits, optionally grouped by spaces or dashes (card numbers); checked before phone numbers
  card: bounded(/\b(?:\d[ -]?){12,18}\d\b/g),
  // international or local numbers: optional +, 7-15 digits with common separators
  phone: bounded(/(?<![\d+(])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){2,4}\b/g),
};
const ORDER: RedactRule[] = ['email', 'card', 'phone'];

export function redactText(text: string, rules: RedactRule[]): string {
  let out = text;
  for (const rule of ORDER) if (rules.includes(rule)) out = FINDERS[rule](out, `[${rule}]`);
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
