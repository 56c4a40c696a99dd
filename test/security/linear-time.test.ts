import fc from 'fast-check';
import { redactText } from '../../src/telemetry/privacy';
import { forbiddenApis } from '../../src/synthesis/llm/prompt';

/**
 * Patterns that run on user data (inputs) or on a peer's answers (an LLM's code) must not backtrack
 * quadratically. These inputs took seconds to hours with the old patterns; the test's own time limit is the bound.
 */
describe('scans of hostile text are linear', () => {
  const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

  test('the email scanner finds exactly what the email pattern finds', () => {
    const text = fc.string({ unit: fc.constantFrom(...'ab.@-_+1 Z%x'.split('')), maxLength: 40 });
    fc.assert(
      fc.property(text, (s) => redactText(s, ['email']) === s.replace(EMAIL, '[email]')),
      { numRuns: 20_000 },
    );
  });

  test('a megabyte of adversarial text is redacted, with every rule', () => {
    const mb = 1_000_000;
    const cases = [
      'a'.repeat(mb),
      'a@'.repeat(mb / 2),
      'a@' + 'a.'.repeat(mb / 2),
      '1'.repeat(mb),
      '+1'.repeat(mb / 2),
    ];
    for (const text of cases) expect(redactText(text, ['email', 'card', 'phone']).length).toBeGreaterThan(0);
    expect(redactText(`mail ${'x'.repeat(200)}@example.com or +44 20 7946 0958`, ['email', 'phone'])).toBe(
      'mail [email] or [phone]',
    );
  });

  test('comments are stripped from LLM code in linear time, and what they hide is still found', () => {
    expect(forbiddenApis('/*'.repeat(50_000))).toEqual([]);
    expect(forbiddenApis('/* require("fs") */ function execute(i) { return {result: 1}; }')).toEqual([]);
    expect(forbiddenApis('/* ok */ var fs = require("fs");')).not.toEqual([]);
  });
});
