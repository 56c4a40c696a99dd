/**
 * An object keyed by user data (labels, field names, terms): without a prototype, so a key such as `__proto__`,
 * `constructor` or `toString` is an ordinary own key, never an inherited value or a write to Object.prototype.
 * It serialises to JSON like any object.
 */
export const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** `Object.fromEntries` into a null-prototype object. */
export function dictOf<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out = dict<T>();
  for (const [k, v] of entries) out[k] = v;
  return out;
}
