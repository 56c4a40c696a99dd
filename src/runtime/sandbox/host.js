// The sandbox child process: hosts one isolated-vm isolate per loaded program and runs the calls the parent
// sends. Plain JavaScript because it is forked directly (also under the test runner); types live in protocol.ts.
'use strict';
const ivm = require('isolated-vm');

const MAX_MESSAGE = 500;
/** Budget for work that is not a call: the program's top level at load, parsing a batch's inputs. */
const SETUP_TIMEOUT_MS = 1000;
/** isolated-vm refuses smaller heaps. */
const MIN_MEMORY_MB = 8;
/** The default of execution.max_result_bytes (src/domain/schemas.ts), for sources that do not say. */
const DEFAULT_MAX_RESULT_BYTES = 64 * 1024;
/**
 * How long one message may keep the child before it answers what it has (see runCalls), and how much answer
 * text (UTF-16 units) one crossing gathers before it returns: other programs' calls wait behind a message, and a
 * message's answers are copied out of the isolate, parsed and sent over IPC whole.
 */
const SLICE_MS = 100;
const ANSWER_BUDGET = 1 << 20;

/** @typedef {import('./protocol').ProgramSource} ProgramSource */
/** @typedef {import('./protocol').CallOutcome} CallOutcome */
/** @typedef {import('./protocol').ToChild} ToChild */
/** @typedef {import('./protocol').FromChild} FromChild */
/** @typedef {{ start: ivm.Reference, run: ivm.Reference, take: ivm.Reference }} Runner */
/** @typedef {{ source: ProgramSource, isolate: ivm.Isolate | null, runner: Runner | null }} Loaded */

/** @type {Map<string, Loaded>} */
const programs = new Map();

/**
 * Shared artifacts held in this process, by hash: one ExternalCopy of each file, outside every isolate's heap (a
 * copy into an isolate is an external string over those same bytes), and the programs that use it.
 * @type {Map<string, { files: Array<[string, ivm.ExternalCopy<string>]>, bytes: number, users: Set<string> }>}
 */
const sharedHeld = new Map();

/**
 * The held shared artifacts of a program, by its names for them, taken for it (made when first needed).
 * @param {ProgramSource} source
 */
function holdShared(source) {
  /** @type {Array<[string, { files: Array<[string, ivm.ExternalCopy<string>]>, bytes: number }]>} */
  const out = [];
  for (const [name, artifact] of Object.entries(source.shared ?? {})) {
    let held = sharedHeld.get(artifact.hash);
    if (!held && !Object.keys(artifact.files).length)
      throw new Error(`the shared artifact '${name}' (${artifact.hash}) was not sent, and is not held here`);
    if (!held) {
      const files = Object.entries(artifact.files).map(
        ([file, text]) =>
          /** @type {[string, ivm.ExternalCopy<string>]} */ ([file, new ivm.ExternalCopy(text)]),
      );
      // a string of two-byte characters takes twice its length
      const bytes = Object.values(artifact.files).reduce((n, text) => n + 2 * text.length, 0);
      held = { files, bytes, users: new Set() };
      sharedHeld.set(artifact.hash, held);
    }
    held.users.add(source.key);
    out.push([name, held]);
  }
  return out;
}

/** Lets go of a program's shared artifacts; one no program uses any more is freed. @param {ProgramSource} source */
function releaseShared(source) {
  for (const { hash } of Object.values(source.shared ?? {})) {
    const held = sharedHeld.get(hash);
    if (!held) continue;
    held.users.delete(source.key);
    if (held.users.size) continue;
    for (const [, copy] of held.files) copy.release();
    sharedHeld.delete(hash);
  }
}

// Runs inside the isolate before the program, as a strict closure over the files' JSON text ($0), limits
// ($1 answer bytes, $2 message length, $3 answer budget), the shared artifacts' names and file names ($4, JSON)
// and their files' texts (the arguments after $4, in that order). It removes what programs must not have, publishes the
// read-only `loopai` global and returns the batch runner. Strict, so `execute.caller` does not hand the
// program the runner's functions. It captures the built-ins it uses before the program runs and builds its
// output by string concatenation, so a program that tampers with built-ins garbles only its own answers (the
// host checks every answer anyway). Each item becomes one JSON object: {a: answer} | {e: thrown} |
// {b: bad answer} | {t: bytes of an answer over the limit}.
const RUNTIME = `
  'use strict';
  // WebAssembly memory lives outside the isolate's heap limit (and no program needs it); the other two are
  // for sharing memory between threads, which programs do not have
  delete globalThis.WebAssembly;
  delete globalThis.SharedArrayBuffer;
  delete globalThis.Atomics;
  var parse = JSON.parse, stringify = JSON.stringify, Str = String, freeze = Object.freeze;
  var call = Function.prototype.call, unitAt = call.bind(String.prototype.charCodeAt);
  var cut = call.bind(String.prototype.slice);
  var maxBytes = $1, maxMessage = $2, budget = $3;
  var define = Object.defineProperty, layout = parse($4), shared = {}, at = 5;
  for (var i = 0; i < layout.length; i++) {
    var files = {};
    for (var j = 0; j < layout[i][1].length; j++) define(files, layout[i][1][j], { value: arguments[at++], enumerable: true });
    define(shared, layout[i][0], { value: freeze(files), enumerable: true });
  }
  define(globalThis, 'loopai', {
    value: freeze({ files: freeze(parse($0)), shared: freeze(shared) }),
    enumerable: true,
  });
  var execute = null, inputs = [], next = 0, out = '';
  // JSON text has no lone surrogates: a pair is two units of two bytes each
  function utf8Length(s) {
    for (var n = 0, i = 0; i < s.length; i++) {
      var u = unitAt(s, i);
      n += u < 0x80 ? 1 : u < 0x800 || (u >= 0xd800 && u < 0xe000) ? 2 : 3;
    }
    return n;
  }
  function one(input) {
    try {
      var a = execute(input);
      if (a === null || typeof a !== 'object') return '{"b":"execute must return an object with a result key"}';
      var json = stringify({ result: a.result, confidence: a.confidence, reason: a.reason });
      // a unit is one to three bytes: text longer than the limit is over it, and only text that could fit is
      // counted exactly
      var bytes = json.length > maxBytes ? json.length : json.length * 3 > maxBytes ? utf8Length(json) : 0;
      if (bytes > maxBytes) return '{"t":' + bytes + '}';
      return '{"a":' + json + '}';
    } catch (e) {
      try {
        return '{"e":' + stringify(cut(Str((e && e.message) || e), 0, maxMessage)) + '}';
      } catch (_) {
        return '{"e":"the program threw a value that cannot be printed"}';
      }
    }
  }
  return {
    bind: function (fn) { execute = fn; },
    // resets before parsing, so a parse cut short leaves no answers of an earlier batch to take()
    start: function (json) { out = ''; next = 0; inputs = []; inputs = parse(json); },
    // answers in order until done or the answer budget is used; a timeout stops it midway and take() returns
    // the answers made so far
    run: function () {
      for (; next < inputs.length && out.length < budget; next++) {
        out += (out === '' ? '' : ',') + one(inputs[next]);
      }
      return '[' + out + ']';
    },
    take: function () { return '[' + out + ']'; },
  };
`;

/** @param {Loaded} p */
function compile(p) {
  const { source } = p;
  const shared = holdShared(source);
  // isolated-vm counts a shared string against each isolate that holds it: the limit is the program's own on top
  const sharedMb = Math.ceil(shared.reduce((n, [, held]) => n + held.bytes, 0) / (1 << 20));
  const isolate = new ivm.Isolate({ memoryLimit: Math.max(MIN_MEMORY_MB, source.memoryMb) + sharedMb });
  try {
    const context = isolate.createContextSync();
    const limits = [maxResultBytes(p), MAX_MESSAGE, ANSWER_BUDGET];
    const layout = JSON.stringify(shared.map(([name, held]) => [name, held.files.map(([file]) => file)]));
    const texts = shared.flatMap(([, held]) => held.files.map(([, copy]) => copy.copyInto()));
    const api = context.evalClosureSync(
      RUNTIME,
      [JSON.stringify(source.files), ...limits, layout, ...texts],
      {
        result: { reference: true },
        timeout: SETUP_TIMEOUT_MS,
      },
    );
    const script = isolate.compileScriptSync(source.code, { filename: 'program.js' });
    script.runSync(context, { timeout: Math.max(source.timeoutMs, SETUP_TIMEOUT_MS) });
    // a separate script sees the program's top-level `function`, `const` and `let` declarations alike
    const execute = context.evalSync('typeof execute === "function" ? execute : undefined', {
      reference: true,
    });
    if (execute.typeof !== 'function') throw new Error('program.js must define function execute(input)');
    const ref = (/** @type {string} */ name) => api.getSync(name, { reference: true });
    ref('bind').applySync(undefined, [execute.derefInto()]);
    p.runner = { start: ref('start'), run: ref('run'), take: ref('take') };
    p.isolate = isolate;
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

/** @param {unknown} err */
function messageOf(err) {
  return String((err && /** @type {Error} */ (err).message) || err).slice(0, MAX_MESSAGE);
}

/** @param {import('./protocol').ErrorCode} code @param {string} message @returns {CallOutcome} */
const fail = (code, message) => ({ ok: false, error: { code, message: message.slice(0, MAX_MESSAGE) } });

const TIMEOUT = 'Script execution timed out.';
/** @param {Loaded} p */
const timedOut = (p) => fail('timeout', `execution took longer than ${p.source.timeoutMs} ms`);
const outOfMemory = () => fail('memory', 'the program exceeded its memory limit');
/** @param {Loaded} p */
const maxResultBytes = (p) => p.source.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;

/**
 * Checks one item the isolate produced. The checks live here, outside the program's reach.
 * @param {Loaded} p @param {unknown} item @returns {CallOutcome}
 */
function outcomeOf(p, item) {
  const it =
    /** @type {{ a?: { result?: unknown, confidence?: unknown, reason?: unknown }, e?: unknown, b?: unknown, t?: unknown }} */ (
      item && typeof item === 'object' ? item : {}
    );
  if (typeof it.e === 'string') return fail('program_error', it.e);
  if (typeof it.b === 'string') return fail('bad_answer', it.b);
  if (typeof it.t === 'number') {
    const limit = maxResultBytes(p);
    return fail(
      'result_too_large',
      `the answer is at least ${it.t} bytes of JSON, over the limit of ${limit} bytes (execution.max_result_bytes)`,
    );
  }
  const a = it.a;
  if (!a || typeof a !== 'object' || !('result' in a)) {
    return fail('bad_answer', 'execute must return an object with a JSON "result"');
  }
  const { result, confidence, reason } = a;
  if (confidence !== undefined && !(typeof confidence === 'number' && confidence >= 0 && confidence <= 1)) {
    return fail('bad_answer', 'confidence must be a finite number from 0 to 1');
  }
  if (reason !== undefined && typeof reason !== 'string')
    return fail('bad_answer', 'reason must be a string');
  /** @type {import('./protocol').Answer} */
  const answer = { result };
  if (confidence !== undefined) answer.confidence = confidence;
  if (reason !== undefined) answer.reason = reason;
  return { ok: true, answer };
}

/**
 * Appends the answers in `text` (what run or take returned) to `outcomes`: from `least` to `count` of them.
 * Anything else (a program that broke the runtime's built-ins) fails the whole chunk.
 * @param {Loaded} p @param {unknown} text @param {number} count @param {number} least
 * @param {CallOutcome[]} outcomes
 */
function collect(p, text, count, least, outcomes) {
  let items;
  try {
    items = JSON.parse(/** @type {string} */ (text));
  } catch {
    items = null;
  }
  if (!Array.isArray(items) || items.length > count || items.length < least) {
    for (let i = 0; i < count; i++)
      outcomes.push(fail('bad_answer', 'the program broke the sandbox runtime'));
    return;
  }
  for (const item of items) outcomes.push(outcomeOf(p, item));
}

/**
 * Runs calls in order, each with the program's own time budget, in as few crossings into the isolate as
 * possible. A crossing runs from the first unanswered input onwards with a budget of one call: the answers
 * made before a timeout (or a fault of the runtime) are kept and the crossing starts again at the interrupted
 * input, so that input gets its full budget; one that uses up a crossing alone has timed out. A memory error
 * disposes the isolate (and the crossing's answers): it is rebuilt from source and that crossing's inputs run
 * one per crossing until the culprit is found.
 * So that no program holds the child while others wait, it returns the answers of the first inputs only, and
 * the parent sends the rest again after other programs' waiting calls: after a timeout (the parent counts it
 * against its batch), once SLICE_MS have passed (checked between crossings, so a message holds the child for
 * about SLICE_MS + 2 × timeout at most), or when a crossing's answers fill ANSWER_BUDGET.
 * @param {Loaded} p @param {string[]} inputs JSON texts @returns {CallOutcome[]}
 */
function runCalls(p, inputs) {
  /** @type {CallOutcome[]} */
  const outcomes = [];
  const started = Date.now();
  // while looking for a memory culprit: the end of the crossing that died
  let huntUntil = 0;
  while (outcomes.length < inputs.length) {
    const from = outcomes.length;
    const hunting = from < huntUntil;
    if (from > 0 && !hunting && Date.now() - started >= SLICE_MS) break;
    if (!p.isolate || p.isolate.isDisposed) {
      try {
        compile(p);
      } catch (err) {
        // it compiled before, so this is a program that fails only sometimes: fail what is left
        const failure = fail('program_error', `the program could not be reloaded: ${messageOf(err)}`);
        while (outcomes.length < inputs.length) outcomes.push(failure);
        break;
      }
    }
    const isolate = /** @type {ivm.Isolate} */ (p.isolate);
    const runner = /** @type {Runner} */ (p.runner);
    const chunk = hunting ? inputs.slice(from, from + 1) : from === 0 ? inputs : inputs.slice(from);
    try {
      runner.start.applySync(undefined, ['[' + chunk.join(',') + ']'], { timeout: SETUP_TIMEOUT_MS });
      const text = runner.run.applySync(undefined, [], { timeout: p.source.timeoutMs });
      collect(p, text, chunk.length, 1, outcomes);
      if (outcomes.length - from < chunk.length) break; // the answer budget is full
    } catch (err) {
      if (isolate.isDisposed) {
        // memory limit: nothing of this crossing survives
        if (chunk.length === 1) {
          outcomes.push(outOfMemory());
          huntUntil = 0;
        } else {
          huntUntil = from + chunk.length;
        }
        continue;
      }
      try {
        const text = runner.take.applySync(undefined, [], { timeout: SETUP_TIMEOUT_MS });
        collect(p, text, chunk.length, 0, outcomes);
      } catch {
        // the answers made so far are lost; the interrupted input is blamed below
      }
      if (outcomes.length > from) continue;
      if (messageOf(err) !== TIMEOUT) {
        // the runtime itself failed (the program's own throws are caught inside)
        outcomes.push(fail('program_error', messageOf(err)));
      } else {
        outcomes.push(timedOut(p));
        break;
      }
    }
  }
  return outcomes;
}

/** @param {string} key */
function unload(key) {
  const p = programs.get(key);
  programs.delete(key);
  if (p && p.isolate && !p.isolate.isDisposed) p.isolate.dispose();
  if (p) releaseShared(p.source);
}

/** @param {Extract<ToChild, { type: 'load' }>} msg @returns {string | undefined} why it failed */
function load(msg) {
  // loading a key again keeps its compiled program (a key names one program) and only runs the new self-check
  const existing = programs.get(msg.program.key);
  /** @type {Loaded} */
  const p = existing ?? { source: msg.program, isolate: null, runner: null };
  try {
    if (!existing) compile(p);
    if (msg.selfCheck !== undefined) {
      const [outcome] = runCalls(p, [msg.selfCheck]);
      if (!outcome.ok) throw new Error(`self-check failed (${outcome.error.code}): ${outcome.error.message}`);
    }
  } catch (err) {
    if (!existing && p.isolate && !p.isolate.isDisposed) p.isolate.dispose();
    if (!existing) releaseShared(p.source);
    return messageOf(err);
  }
  // the texts of its shared artifacts live in sharedHeld, once for every program: its source keeps no copy
  if (!existing && p.source.shared) {
    const shared = p.source.shared;
    p.source = { ...p.source, shared: {} };
    for (const name of Object.keys(shared)) p.source.shared[name] = { hash: shared[name].hash, files: {} };
  }
  programs.set(msg.program.key, p);
  return undefined;
}

/** @param {ToChild} msg @returns {FromChild} */
function handle(msg) {
  switch (msg.type) {
    case 'load': {
      const error = load(msg);
      return error === undefined ? { type: 'loaded', id: msg.id } : { type: 'loaded', id: msg.id, error };
    }
    case 'unload':
      unload(msg.key);
      return { type: 'unloaded', id: msg.id };
    case 'run': {
      const p = programs.get(msg.key);
      const outcomes = p
        ? runCalls(p, msg.inputs)
        : msg.inputs.map(() => fail('not_loaded', `program ${msg.key} is not loaded`));
      return { type: 'ran', id: msg.id, outcomes };
    }
  }
}

process.on('message', (/** @type {ToChild} */ msg) => {
  /** @type {FromChild} */
  let reply;
  try {
    reply = handle(msg);
  } catch (err) {
    // a fault of this file, not of a program: answer rather than leave the parent waiting for its deadline
    const message = `sandbox host error: ${messageOf(err)}`;
    if (msg.type === 'load') reply = { type: 'loaded', id: msg.id, error: message };
    else if (msg.type === 'unload') reply = { type: 'unloaded', id: msg.id };
    else reply = { type: 'ran', id: msg.id, outcomes: msg.inputs.map(() => fail('sandbox_crash', message)) };
  }
  if (process.send) process.send(reply);
});
// the server went away: so does the sandbox
process.on('disconnect', () => process.exit(0));
