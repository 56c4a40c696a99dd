import type { Vocabulary } from './matrix';
import { encodeWeights } from './model';

/** What every part's fit is given: the learner's options, resolved. */
export interface HeadSettings {
  seed: number;
  /** Regularisation of label fits (undefined: chosen by cross-validation). */
  c?: number;
  maxFeatures: number;
  weightMass: number;
  /** This block's share of the weights budget (base64 bytes). */
  maxWeightBytes: number;
  threads: number;
  say: (message: string) => void;
}

/** The weights block of `columns` (each: weights over `vocab`'s features, then the intercept). */
export function blockOf(vocab: Vocabulary, columns: Float64Array[], bits: 8 | 16): Uint8Array {
  const F = vocab.hash.length;
  let wordFeatures = 0;
  while (wordFeatures < F && vocab.block[wordFeatures] === 0) wordFeatures++;
  return encodeWeights(
    {
      hashes: vocab.hash,
      wordFeatures,
      idf: Float32Array.from(vocab.idf),
      columns: columns.map((w) => w.subarray(0, F)),
      bias: Float64Array.from(columns, (w) => w[F]),
    },
    bits,
  );
}
