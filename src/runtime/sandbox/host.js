// The sandbox child process: hosts one isolated-vm isolate per loaded program and runs calls the parent sends.
// Plain JavaScript because it is forked directly (also under the test runner); types live in protocol.ts.
'use strict';
const ivm = require('isolated-vm');

const MAX_MESSAGE = 500;

/** @typedef {import('./protocol').ProgramSource} ProgramSource */
/** @typedef {import('./protocol').CallOutcome} CallOutcome */
/** @typedef {{ source: ProgramSource, isolate: ivm.Isolate | null, one: ivm.Reference<Function> | null, many: ivm.Reference<Function> | null }} Loaded */

/** @type {Map<string, Loaded>} */
const programs = new Map();

// Runs inside the isolate: freezes what the program may read, then wraps `execute` so that only JSON text crosses
// the boundary, and answers are checked where they are made.
const PRELUDE = `
  globalThis.loopai = Object.freeze({ files: Object.freeze(JSON.parse(__files)), shared: Object.freeze({}) });
  delete globalThis.__files;
`;
// `one` runs a single call (errors propagate); `many` runs a batch in one crossing, catching each call's error.
const WRAP = `(function () {
  if (typeof execute !== 'function') throw new Error('program.js must define function execute(input)');
  var run = execute;
  function answer(input) {
    var out = run(input);
    if (!out || typeof out !== 'object' || !('result' in out)) throw new TypeError('BAD_ANSWER: execute must return an object with a "result" key');
    if (out.confidence !== undefined && !(typeof out.confidence === 'number' && out.confidence >= 0 && out.confidence <= 1)) {
      throw new TypeError('BAD_ANSWER: confidence must be a number from 0 to 1');
    }
    if (out.reason !== undefined && typeof out.reason !== 'string') throw new TypeError('BAD_ANSWER: reason must be a string');
    var clean = { result: out.result, confidence: out.confidence, reason: out.reason };
    if (!('result' in JSON.parse(JSON.stringify(clean)))) throw new TypeError('BAD_ANSWER: result must be JSON');
    return clean;
  }
  return {
    one: function (json) { return JSON.stringify(answer(JSON.parse(json))); },
    many: function (json) {
      return JSON.stringify(JSON.parse(json).map(function (input) {
        try { return { ok: true, answer: answer(input) }; }
        catch (e) { return { ok: false, message: String(e && e.message || e) }; }
      }));
    },
  };
})()`;

/** @param {Loaded} p */
function compile(p) {
  const { source } = p;
  const isolate = new ivm.Isolate({ memoryLimit: source.memoryMb });
  try {
    const context = isolate.createContextSync();
    context.global.setSync('__files', JSON.stringify(source.files));
    context.evalSync(PRELUDE);
    const script = isolate.compileScriptSync(source.code, { filename: 'program.js' });
    script.runSync(context, { timeout: Math.max(source.timeoutMs, 1000) });
    const api = context.evalSync(WRAP, { reference: true, timeout: 1000 });
    p.one = api.getSync('one', { reference: true });
    p.many = api.getSync('many', { reference: true });
    p.isolate = isolate;
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

/** @param {unknown} err @param {ivm.Isolate | null} isolate @returns {CallOutcome} */
function failure(err, isolate) {
  const message = String((err && /** @type {Error} */ (err).message) || err).slice(0, MAX_MESSAGE);
  if (/timed out/i.test(message))
    return { ok: false, error: { code: 'timeout', message: `execution timed out` } };
  if ((isolate && isolate.isDisposed) || /memory limit|disposed/i.test(message)) {
    return { ok: false, error: { code: 'memory', message: 'the program exceeded its memory limit' } };
  }
  if (message.startsWith('BAD_ANSWER: '))
    return { ok: false, error: { code: 'bad_answer', message: message.slice(12) } };
  return { ok: false, error: { code: 'program_error', message } };
}

/** @param {Loaded} p */
function ensureCompiled(p) {
  if (!p.isolate || p.isolate.isDisposed) compile(p); // after a memory error the isolate is gone: start afresh
}

/** @param {Loaded} p @param {string} json @returns {CallOutcome} */
function call(p, json) {
  try {
    ensureCompiled(p);
    const answer = /** @type {ivm.Reference<Function>} */ (p.one).applySync(undefined, [json], {
      timeout: p.source.timeoutMs,
    });
    return { ok: true, answer: JSON.parse(/** @type {string} */ (answer)) };
  } catch (err) {
    return failure(err, p.isolate);
  }
}

/**
 * Many calls in one crossing into the isolate, with the batch's summed time budget. If the batch as a whole
 * fails (time or memory), the calls run again one at a time, so only the guilty ones fail.
 * @param {Loaded} p @param {string[]} inputs @returns {CallOutcome[]}
 */
function callMany(p, inputs) {
  if (inputs.length === 1) return [call(p, inputs[0])];
  let results;
  try {
    ensureCompiled(p);
    const text = /** @type {ivm.Reference<Function>} */ (p.many).applySync(
      undefined,
      ['[' + inputs.join(',') + ']'],
      {
        timeout: p.source.timeoutMs * inputs.length,
      },
    );
    results = JSON.parse(/** @type {string} */ (text));
  } catch {
    return inputs.map((json) => call(p, json));
  }
  return results.map((/** @type {{ok: boolean, answer?: unknown, message?: string}} */ r) =>
    r.ok ? { ok: true, answer: r.answer } : failure(new Error(r.message), p.isolate),
  );
}

/** @param {string} key */
function unload(key) {
  const p = programs.get(key);
  programs.delete(key);
  if (p && p.isolate && !p.isolate.isDisposed) p.isolate.dispose();
}

/** @param {import('./protocol').ToChild} msg @returns {import('./protocol').FromChild} */
function handle(msg) {
  switch (msg.type) {
    case 'load': {
      if (programs.has(msg.program.key)) unload(msg.program.key);
      /** @type {Loaded} */
      const p = { source: msg.program, isolate: null, one: null, many: null };
      try {
        compile(p);
        if (msg.selfCheck !== undefined) {
          const outcome = call(p, msg.selfCheck);
          if (!outcome.ok) throw new Error(`self-check failed: ${outcome.error.message}`);
        }
      } catch (err) {
        if (p.isolate && !p.isolate.isDisposed) p.isolate.dispose();
        return {
          type: 'loaded',
          id: msg.id,
          error: String(/** @type {Error} */ (err).message || err).slice(0, MAX_MESSAGE),
        };
      }
      programs.set(msg.program.key, p);
      return { type: 'loaded', id: msg.id };
    }
    case 'unload':
      unload(msg.key);
      return { type: 'unloaded', id: msg.id };
    case 'run': {
      const p = programs.get(msg.key);
      /** @type {CallOutcome[]} */
      const outcomes = p
        ? callMany(p, msg.inputs)
        : msg.inputs.map(() => ({
            ok: false,
            error: { code: 'not_loaded', message: `program ${msg.key} is not loaded` },
          }));
      return { type: 'ran', id: msg.id, outcomes };
    }
  }
}

process.on('message', (msg) => {
  if (process.send) process.send(handle(/** @type {import('./protocol').ToChild} */ (msg)));
});
process.on('disconnect', () => process.exit(0));
