/**
 * The learner's features as 32-bit hashes, made without building a string per n-gram: word 1–2-grams and
 * character 2–5-grams within whitespace-separated pieces (as scikit-learn's `char_wb`), hashed while the text is
 * scanned (FNV-1a steps over UTF-16 code units; a bigram combines its two word hashes). `hashFeatures` is
 * self-contained (no imports, no module state): program.js embeds its source, so training and serving extract
 * the very same features.
 */

export interface FeatureSpec {
  /**
   * Input fields read, in order: a name, or the path of a field inside nested objects (`["email", "subject"]`);
   * string fields give text features, others `field=value` tokens.
   */
  fields: Array<string | string[]>;
  /** Seed word features with the field index (when an input has several text fields). */
  fieldAware: boolean;
  charMin: number;
  charMax: number;
}

/**
 * A reusable buffer of one input's feature hashes: `h[0..words)` are word features, `h[words..n)` character
 * features. `h` is replaced by a larger array when an input needs more room.
 */
export interface Hashes {
  h: Uint32Array;
  n: number;
  words: number;
  /** Scratch: the units of one padded piece. */
  units: Int32Array;
}

export const newHashes = (): Hashes => ({
  h: new Uint32Array(1024),
  n: 0,
  words: 0,
  units: new Int32Array(64),
});

/** A UTF-16 unit that belongs to a word (after lowercasing): a letter or digit, Latin or beyond. */
export function isWordUnit(c: number): boolean {
  if (c < 0xc0) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
  return (
    c !== 0xd7 &&
    c !== 0xf7 &&
    !(c >= 0x2000 && c <= 0x2bff) &&
    !(c >= 0x3000 && c <= 0x303f) &&
    !(c >= 0xd800 && c <= 0xdfff) &&
    !(c >= 0xfe30 && c <= 0xfe4f) &&
    !(c >= 0xff00 && c <= 0xff0f)
  );
}

/** Symbols that are words of their own: ! ? $ £ € % & * @ # */
export function isSymbolUnit(c: number): boolean {
  return (
    c === 33 ||
    c === 63 ||
    c === 36 ||
    c === 0xa3 ||
    c === 0x20ac ||
    c === 37 ||
    c === 38 ||
    c === 42 ||
    c === 64 ||
    c === 35
  );
}

/** White space as JavaScript's \\s knows it. */
export function isSpaceUnit(c: number): boolean {
  return (
    c <= 32 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Fills `out` with the feature hashes of `input` (one per occurrence: a repeated term appears again). */
export function hashFeatures(input: unknown, spec: FeatureSpec, out: Hashes): void {
  const PRIME = 16777619;
  const WORD = 0x811c9dc5;
  const BIGRAM = 0x5bd1e995;
  const CHAR = 0x2f1b3c4d;
  const span = spec.charMax - spec.charMin + 1;
  const obj =
    input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : { value: input };
  let h = out.h;
  let n = 0;
  let units = out.units;
  const texts: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    if (pass === 1) out.words = n;
    for (let f = 0; f < spec.fields.length; f++) {
      const field = spec.fields[f];
      // no array per call for a top-level field (the common case, on the execute path)
      const first = typeof field === 'string' ? field : field[0];
      // own fields only: a field named like an Object.prototype member must not read the inherited value
      let value: unknown = Object.prototype.hasOwnProperty.call(obj, first) ? obj[first] : undefined;
      for (let p = 1; typeof field !== 'string' && p < field.length; p++) {
        value =
          value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, field[p])
            ? (value as Record<string, unknown>)[field[p]]
            : undefined;
      }
      if (value === undefined || value === null) continue;
      const text = typeof value === 'string';
      if (pass === 0)
        texts[f] = text
          ? (value as string).toLowerCase()
          : (typeof field === 'string' ? field : field.join('.')) + '=' + String(value);
      else if (!text) continue;
      const s = texts[f];
      const len = s.length;
      // room for every feature this text can give: two per unit as words, `span` per padded unit as characters
      const need = n + len * (3 * span + 2) + 8;
      if (h.length < need) {
        const grown = new Uint32Array(Math.max(need, h.length * 2));
        grown.set(h.subarray(0, n));
        h = out.h = grown;
      }
      if (pass === 0 && !text) {
        let t = WORD;
        for (let i = 0; i < len; i++) t = Math.imul(t ^ s.charCodeAt(i), PRIME);
        h[n++] = t >>> 0;
      } else if (pass === 0) {
        const seed = spec.fieldAware ? (WORD ^ Math.imul(f + 1, 0x27d4eb2d)) >>> 0 : WORD;
        let prev = 0;
        let hasPrev = false;
        let i = 0;
        while (i < len) {
          let c = s.charCodeAt(i);
          let t = seed;
          if (isWordUnit(c)) {
            let apostrophe = false;
            for (; i < len; i++) {
              c = s.charCodeAt(i);
              if (!isWordUnit(c)) {
                // one apostrophe before a letter stays inside the word: don't, it's
                const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
                if (apostrophe || (c !== 39 && c !== 0x2019) || next < 97 || next > 122) break;
                apostrophe = true;
              }
              t = Math.imul(t ^ c, PRIME);
            }
          } else if (isSymbolUnit(c)) {
            t = Math.imul(t ^ c, PRIME);
            i++;
          } else {
            i++;
            continue;
          }
          t >>>= 0;
          h[n++] = t;
          if (hasPrev) h[n++] = Math.imul(Math.imul(prev, 0x9e3779b1) ^ t ^ BIGRAM, PRIME) >>> 0;
          prev = t;
          hasPrev = true;
        }
      } else {
        // characters: each whitespace-separated piece padded with a space on both sides
        let start = 0;
        while (start < len) {
          if (isSpaceUnit(s.charCodeAt(start))) {
            start++;
            continue;
          }
          let end = start + 1;
          while (end < len && !isSpaceUnit(s.charCodeAt(end))) end++;
          const padded = end - start + 2;
          if (units.length < padded) units = new Int32Array(padded * 2);
          units[0] = 32;
          for (let b = 1; b < padded - 1; b++) units[b] = s.charCodeAt(start + b - 1);
          units[padded - 1] = 32;
          for (let a = 0; a + spec.charMin <= padded; a++) {
            let t = CHAR;
            const stop = Math.min(a + spec.charMax, padded);
            for (let b = a; b < a + spec.charMin - 1; b++) t = Math.imul(t ^ units[b], PRIME);
            for (let b = a + spec.charMin - 1; b < stop; b++) {
              t = Math.imul(t ^ units[b], PRIME);
              h[n++] = t >>> 0;
            }
          }
          start = end;
        }
      }
    }
  }
  out.n = n;
  out.units = units;
}
