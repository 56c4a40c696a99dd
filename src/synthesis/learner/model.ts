/**
 * The learner's model and the code that scores it. `featurize` and `scoreModel` are self-contained (no imports,
 * no module state): the emitted program.js embeds their source, so training and serving run the very same code.
 */

export interface FeatureSpec {
  /** Input fields read, in order; string fields give text features, others `field=value` tokens. */
  fields: string[];
  /** Prefix word features with the field index (when an input has several text fields). */
  fieldAware: boolean;
  charMin: number;
  charMax: number;
}

export interface LinearModel {
  spec: FeatureSpec;
  labels: unknown[];
  /** Output shape: the label itself (null) or an object with the label under this key. */
  field: string | null;
  /** Per block (words, characters): term → [idf, weight per class…] (one weight for two classes: > 0 → labels[1]). */
  blocks: Array<Record<string, number[]>>;
  bias: number[];
  /** Scales decision values before the softmax that gives `confidence`. */
  temperature: number;
}

/** A model ready to score: its blocks as Maps (fast lookups for many keys). */
export interface PreparedModel {
  model: LinearModel;
  blocks: Array<Map<string, number[]>>;
}

export function prepare(model: LinearModel): PreparedModel {
  return { model, blocks: model.blocks.map((block) => new Map(Object.entries(block))) };
}

/** Raw term counts of one input, in two blocks: words (1–2-grams) and characters (n-grams within words). */
export function featurize(input: unknown, spec: FeatureSpec): Array<Map<string, number>> {
  const words = new Map<string, number>();
  const chars = new Map<string, number>();
  const obj =
    input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : { value: input };
  for (let f = 0; f < spec.fields.length; f++) {
    // own fields only: a field named like an Object.prototype member must not read the inherited value
    const value = Object.prototype.hasOwnProperty.call(obj, spec.fields[f]) ? obj[spec.fields[f]] : undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      const token = spec.fields[f] + '=' + String(value);
      words.set(token, (words.get(token) || 0) + 1);
      continue;
    }
    const prefix = spec.fieldAware ? f + ':' : '';
    const lower = value.toLowerCase();
    const tokens = lower.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[!?$£€%&*@#]/gu) || [];
    for (let i = 0; i < tokens.length; i++) {
      const uni = prefix + tokens[i];
      words.set(uni, (words.get(uni) || 0) + 1);
      if (i > 0) {
        const bi = prefix + tokens[i - 1] + ' ' + tokens[i];
        words.set(bi, (words.get(bi) || 0) + 1);
      }
    }
    const pieces = lower.split(/\s+/);
    for (let p = 0; p < pieces.length; p++) {
      if (!pieces[p]) continue;
      const padded = ' ' + pieces[p] + ' ';
      for (let n = spec.charMin; n <= spec.charMax && n <= padded.length; n++) {
        for (let i = 0; i + n <= padded.length; i++) {
          const gram = padded.slice(i, i + n);
          chars.set(gram, (chars.get(gram) || 0) + 1);
        }
      }
    }
  }
  return [words, chars];
}

/**
 * Decision values and confidence of one input. TF-IDF with sublinear tf, each block L2-normalised over the
 * model's terms (as a FeatureUnion of two TfidfVectorizers would), then a linear score per class.
 */
export function scoreModel(
  prepared: PreparedModel,
  input: unknown,
): { label: number; confidence: number; scores: number[] } {
  const model = prepared.model;
  const counts = featurize(input, model.spec);
  const k = model.bias.length;
  const scores = model.bias.slice();
  for (let b = 0; b < counts.length; b++) {
    const terms = prepared.blocks[b];
    let norm = 0;
    const entries: number[][] = [];
    const values: number[] = [];
    counts[b].forEach((count, term) => {
      const entry = terms.get(term);
      if (!entry) return;
      const v = (1 + Math.log(count)) * entry[0];
      norm += v * v;
      entries.push(entry);
      values.push(v);
    });
    if (norm === 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let h = 0; h < entries.length; h++) {
      const entry = entries[h];
      const v = values[h] * inv;
      for (let c = 0; c < k; c++) scores[c] += entry[c + 1] * v;
    }
  }
  if (k === 1) {
    const p = 1 / (1 + Math.exp(-model.temperature * scores[0]));
    return scores[0] > 0 ? { label: 1, confidence: p, scores } : { label: 0, confidence: 1 - p, scores };
  }
  let best = 0;
  for (let c = 1; c < k; c++) if (scores[c] > scores[best]) best = c;
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(model.temperature * (scores[c] - scores[best]));
  return { label: best, confidence: 1 / sum, scores };
}
