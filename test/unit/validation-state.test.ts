import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Verdict } from '../../src/domain/types';
import { silentLogger } from '../../src/logger';
import type { Registry } from '../../src/runtime/registry';
import { Layout } from '../../src/store/layout';
import { ValidationFiles } from '../../src/store/validation-files';
import {
  recordVerdict,
  restoreState,
  ValidationStates,
  windowAccuracy,
} from '../../src/improvement/validation/state';

const verdict = (version: string, correct: boolean): Verdict => ({
  execution_id: `e-${Math.random()}`,
  ts: '2025-06-01T12:00:00.000Z',
  version,
  input: null,
  program_output: 'ham',
  oracle_output: correct ? 'ham' : 'spam',
  oracle: 'human',
  correct,
  validated_at: '2025-06-02T00:00:00.000Z',
});

describe('validation state', () => {
  test('a missing state.json starts empty; saved fields are kept', () => {
    expect(JSON.parse(JSON.stringify(restoreState({})))).toEqual({
      cursors: {},
      verdicts_offset: 0,
      pending: [],
      stats: {},
      totals: {},
      recent: {},
      verdicts: 0,
      dropped: 0,
      policy: {},
      validated_at: null,
      edges: {},
    });
    const saved = {
      cursors: { '2025-06-01.jsonl': 120 },
      verdicts_offset: 300,
      pending: [],
      stats: { '2025-06-01': { v1: { executions: 4, validations: 1, correct: 1, latency: { 3: 4 } } } },
      totals: { v1: { n: 1, correct: 1 } },
      recent: { v1: [1] },
      verdicts: 1,
      dropped: 2,
      policy: { last_attempt: 1 },
      validated_at: '2025-06-02T00:00:00.000Z',
      edges: {
        'edge-1': { '2025-06-01': { v1: { executions: 4, validations: 1, correct: 1, latency: { 3: 4 } } } },
      },
    };
    const state = restoreState(saved);
    expect(JSON.parse(JSON.stringify(state))).toEqual({
      ...saved,
      stats: {
        '2025-06-01': {
          v1: {
            executions: 4,
            errors: 0,
            samples: 0,
            validations: 1,
            correct: 1,
            oracle_calls: 0,
            latency: { 3: 4 },
          },
        },
      },
      edges: {
        'edge-1': {
          '2025-06-01': {
            v1: {
              executions: 4,
              errors: 0,
              samples: 0,
              validations: 1,
              correct: 1,
              oracle_calls: 0,
              latency: { 3: 4 },
            },
          },
        },
      },
    });
  });

  test('versions and days named __proto__ in state.json or in verdicts stay data', () => {
    const state = restoreState(
      JSON.parse(
        '{"totals": {"__proto__": {"n": 2, "correct": 1}}, "recent": {"__proto__": [1, 0]}, "cursors": {"__proto__": 5}}',
      ),
    );
    recordVerdict(state, verdict('__proto__', true), 200);
    recordVerdict(state, { ...verdict('constructor', false), ts: '__proto__' }, 200);
    for (const key of ['n', 'correct', 'executions', 'validations'])
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, key)).toBe(false);
    expect(state.totals['__proto__']).toEqual({ n: 3, correct: 2 });
    expect(windowAccuracy(state, '__proto__')).toEqual({ n: 3, correct: 2, accuracy: 2 / 3 });
    expect(state.cursors['__proto__']).toBe(5);
    expect(Object.keys(state.stats['__proto__'])).toEqual(['constructor']);
  });

  test('a verdict counts in totals, in the window (its latest `window` only) and on its execution day', () => {
    const state = restoreState({});
    for (const correct of [false, true, true, true]) recordVerdict(state, verdict('v2', correct), 3);
    expect(state.totals.v2).toEqual({ n: 4, correct: 3 });
    expect(windowAccuracy(state, 'v2')).toEqual({ n: 3, correct: 3, accuracy: 1 });
    expect(state.stats['2025-06-01'].v2).toMatchObject({ validations: 4, correct: 3 });
    expect(state.verdicts).toBe(4);
    expect(windowAccuracy(state, 'v9')).toEqual({ n: 0, correct: 0, accuracy: null });
    expect(windowAccuracy(state, null)).toEqual({ n: 0, correct: 0, accuracy: null });
  });
});

test('after a crash, every verdict written since the last save is replayed, however many MB they take', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-replay-'));
  const layout = new Layout(dataDir);
  const store = { validation: new ValidationFiles(layout) };
  const registry = { store, get: () => undefined } as unknown as Registry;
  const verdictsFile = layout.verdicts('replay-app');
  fs.mkdirSync(path.dirname(verdictsFile), { recursive: true });
  // 30 verdicts of 400 KB inputs: 12 MB, more than one read step
  const verdicts = Array.from({ length: 30 }, (_, i) => ({
    execution_id: `e${i}`,
    ts: '2026-01-01T00:00:00.000Z',
    version: 'v1',
    input: { text: 'x'.repeat(400_000) },
    program_output: 'spam',
    oracle_output: i % 3 ? 'spam' : 'ham',
    oracle: 'http',
    correct: i % 3 !== 0,
    validated_at: '2026-01-01T00:00:01.000Z',
  }));
  fs.writeFileSync(verdictsFile, verdicts.map((v) => JSON.stringify(v) + '\n').join(''));
  const state = await new ValidationStates(registry, silentLogger()).get('replay-app');
  expect(state.verdicts_offset).toBe(fs.statSync(verdictsFile).size);
  expect(windowAccuracy(state, 'v1')).toEqual({ accuracy: 20 / 30, correct: 20, n: 30 });
});
