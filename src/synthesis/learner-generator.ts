import type { LoopAppSpec } from '../domain/types';
import type { Candidate, GenerateContext, Generator } from './generator';
import { learn, learnableTarget, LEARNER_TEMPLATE, LearnerUnsupported } from './learner';

/** The offline learner as a generator: no key, no network. */
export class LearnerGenerator implements Generator {
  readonly name = 'learner' as const;

  constructor(private readonly seed = 42) {}

  unavailable(spec: LoopAppSpec): string | null {
    try {
      learnableTarget(spec.output_schema);
      return null;
    } catch (err) {
      if (err instanceof LearnerUnsupported) return err.message;
      throw err;
    }
  }

  async generate(ctx: GenerateContext): Promise<Candidate> {
    ctx.progress(`learner: training on ${ctx.train.length} examples`);
    const learned = await learn(ctx.train, ctx.spec.input_schema, ctx.spec.output_schema, {
      seed: this.seed,
      progress: ctx.progress,
    });
    const { ['program.js']: code, ...files } = learned.files;
    const { features, kept_features, c, weights_kb, train_seconds, blocks } = learned.stats;
    const regularised = c === null ? '' : `, C = ${c}`;
    return {
      generator: 'learner',
      template: { name: LEARNER_TEMPLATE.name, sha256: LEARNER_TEMPLATE.sha256 },
      code,
      files,
      notes: `${kept_features} of ${features} features kept (${weights_kb} KB of weights in ${blocks} block${blocks === 1 ? '' : 's'})${regularised}, trained in ${train_seconds} s`,
    };
  }
}
