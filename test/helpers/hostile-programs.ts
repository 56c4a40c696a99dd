import fs from 'node:fs';
import type { CallOutcome, ErrorCode } from '../../src/runtime/sandbox/pool';

/** What a hostile call must come to: a failure with one of `codes` (and a message), or this exact result. */
export type Expected = { codes: ErrorCode[]; message?: RegExp } | { result: unknown };

/** A program body (inside `execute(input)`) and what it must come to. */
export type Hostile = [name: string, body: string, expected: Expected];

/** Resident memory of a process in MB, as Linux reports it. */
export function residentMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb?.[1]) / 1024;
}

/** Samples a process's resident memory every 10 ms; `stop()` gives the peak. */
export function watchRss(pid: number): { stop: () => number } {
  let peak = residentMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, residentMb(pid));
    } catch {
      // the process is gone (a memory bomb aborted it): its peak so far stands
    }
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export function matches(outcome: CallOutcome, expected: Expected): boolean {
  if ('result' in expected)
    return outcome.ok && JSON.stringify(outcome.answer.result) === JSON.stringify(expected.result);
  return (
    !outcome.ok &&
    expected.codes.includes(outcome.error.code) &&
    outcome.error.message.length <= 500 &&
    (expected.message ?? /./).test(outcome.error.message)
  );
}

const fails = (codes: ErrorCode[], message?: RegExp): Expected => ({ codes, message });

/**
 * Escape attempts: well-known vm2 advisory payloads adapted to this contract (what they would return on success
 * is a host object or a pid), and patterns that crash or hang a sandbox.
 */
export const ESCAPES: Hostile[] = [
  [
    'constructor chain to the host Function',
    "return { result: this.constructor.constructor('return process')().pid };",
    fails(['program_error'], /process is not defined/),
  ],
  [
    "Function('return this')() holds no host objects",
    `var g = Function('return this')();
     var host = ['process', 'require', 'global', 'module', 'Buffer', 'setTimeout', 'setImmediate', 'ivm'];
     var found = host.filter(function (k) { return typeof g[k] !== 'undefined'; });
     if (found.length) return { result: found };
     throw new Error('no host objects');`,
    fails(['program_error'], /^no host objects$/),
  ],
  [
    'Error.prepareStackTrace: call sites, their this and functions',
    `Error.prepareStackTrace = function (e, frames) { return frames; };
     var frames = new Error().stack, leaks = [];
     frames.forEach(function (f) {
       [f.getThis(), f.getFunction()].forEach(function (x) {
         try { var p = x && x.constructor.constructor('return process')(); if (p) leaks.push(p.pid); } catch (e) {}
       });
     });
     if (leaks.length) return { result: leaks };
     throw new Error('no host frame');`,
    fails(['program_error'], /^no host frame$/),
  ],
  [
    "execute.caller does not hand out the runtime's functions",
    "var f = execute.caller || arguments.callee.caller; if (f) return { result: 'caller: ' + f }; throw new Error('no caller');",
    fails(['program_error'], /^no caller$/),
  ],
  [
    'nodejs.util.inspect.custom on a thrown error',
    `var e = new Error('inspected?');
     e[Symbol.for('nodejs.util.inspect.custom')] = function (d, o, inspect) { return inspect.constructor('return process')().pid; };
     throw e;`,
    fails(['program_error'], /^inspected\?$/),
  ],
  [
    'nodejs.util.inspect.custom on the answer',
    "var r = {}; r[Symbol.for('nodejs.util.inspect.custom')] = function () { return 'host ran me'; }; return { result: r };",
    { result: {} },
  ],
  [
    'Proxy as the name of an error whose stack is formatted (CVE-2023-37466 shape)',
    `var err = new Error('x');
     err.name = { toString: new Proxy(function () { return ''; }, {
       apply: function (t, self, args) { throw args.constructor.constructor('return process')(); } }) };
     try { err.stack; } catch (leak) { if (leak && leak.pid) return { result: leak.pid }; throw leak; }
     throw new Error('no leak');`,
    fails(['program_error'], /no leak|process is not defined/),
  ],
  // isolated-vm answers import() with a rejected promise or a throw that try/catch cannot catch
  [
    'dynamic import()',
    "return import('fs');",
    fails(['bad_answer', 'program_error'], /result|Not supported/),
  ],
  [
    'require',
    "return { result: require('child_process').execSync('id').toString() };",
    fails(['program_error'], /require is not defined/),
  ],
  [
    'process.binding',
    "return { result: process.binding('fs') };",
    fails(['program_error'], /process is not defined/),
  ],
  [
    'an async function answers a promise',
    'return (async function () { return { result: 1 }; })();',
    fails(['bad_answer']),
  ],
  [
    'a generator answers an iterator',
    'return (function* () { yield { result: 1 }; })();',
    fails(['bad_answer']),
  ],
  [
    'Atomics.wait on shared memory (blocks a thread past any timeout)',
    'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return { result: 1 };',
    fails(['program_error'], /(Atomics|SharedArrayBuffer) is not defined/),
  ],
  [
    // the answer is made before the promise callback runs; the callback costs the call its budget, no more
    'a microtask that never ends',
    'Promise.resolve().then(function () { while (true) {} }); return { result: 1 };',
    { result: 1 },
  ],
  [
    'deep recursion',
    'function f(n) { return f(n + 1) + 1; } return { result: f(0) };',
    fails(['program_error'], /call stack/),
  ],
  ['huge string repeat', 'return { result: "x".repeat(1e9).length };', fails(['memory', 'program_error'])],
  [
    'Map growth bomb',
    'var m = new Map(); for (var i = 0; ; i++) m.set("k" + i, { i: i });',
    fails(['memory']),
  ],
  ['Set growth bomb', 'var s = new Set(); for (var i = 0; ; i++) s.add("k" + i);', fails(['memory'])],
  [
    'throws an object whose toString never returns',
    'throw { toString: function () { while (true) {} } };',
    fails(['timeout']),
  ],
  [
    'throws an object whose message getter throws',
    "throw { get message() { throw new Error('again'); } };",
    fails(['program_error'], /cannot be printed/),
  ],
  ['throws a 10 MB message', "throw new Error('x'.repeat(1e7));", fails(['program_error'], /^x+$/)],
  [
    'answers a Proxy whose traps throw',
    "return new Proxy({}, { get: function () { throw new Error('trap'); } });",
    fails(['program_error'], /^trap$/),
  ],
  [
    'answers a result that is a Proxy whose ownKeys never returns',
    'return { result: new Proxy({}, { ownKeys: function () { while (true) {} } }) };',
    fails(['timeout']),
  ],
  ['a result getter that never returns', 'return { get result() { while (true) {} } };', fails(['timeout'])],
  [
    'a result getter that throws',
    "return { get result() { throw new Error('getter'); } };",
    fails(['program_error'], /^getter$/),
  ],
  [
    'catastrophic regex backtracking',
    "return { result: /^(a+)+$/.test('a'.repeat(40) + 'b') };",
    fails(['timeout']),
  ],
  ['a BigInt result', 'return { result: 1n };', fails(['program_error'], /BigInt/)],
  ['a cyclic result', 'var r = {}; r.self = r; return { result: r };', fails(['program_error'], /circular/)],
  [
    'a confidence that converts to a number',
    'return { result: 1, confidence: { valueOf: function () { return 0.5; } } };',
    fails(['bad_answer'], /confidence/),
  ],
];

/**
 * Programs that override what the runtime inside the isolate could rely on, then answer. Their answers are
 * still checked by the host: they get their own answer or a clear failure, never a forged or unchecked one.
 */
export const TAMPERING: Hostile[] = [
  [
    'Array.prototype.join',
    "Array.prototype.join = function () { return ']'; }; return { result: [1, 2], confidence: 0.5 };",
    { result: [1, 2] },
  ],
  [
    'JSON.stringify and JSON.parse',
    `JSON.stringify = function () { return '{"result":"forged","confidence":7}'; };
     JSON.parse = function () { return [{ a: { result: 'forged' } }]; };
     return { result: 'real' };`,
    { result: 'real' },
  ],
  [
    'String, for the message of a throw',
    "String = function () { return 'forged'; }; throw new Error('boom');",
    fails(['program_error'], /^boom$/),
  ],
  [
    'Object.prototype.toJSON forging an answer',
    "Object.prototype.toJSON = function () { return { result: 'forged', confidence: 5 }; }; return { result: 1 };",
    fails(['bad_answer'], /confidence/),
  ],
  [
    'Object.prototype.toJSON answering nothing',
    'Object.prototype.toJSON = function () { return undefined; }; return { result: 1 };',
    fails(['program_error']),
  ],
  [
    'Object.prototype.toJSON answering 1 MB',
    "Object.prototype.toJSON = function () { return 'x'.repeat(1e6); }; return { result: 1 };",
    fails(['result_too_large'], /65536 bytes/),
  ],
  [
    'String.prototype.charCodeAt, to hide the bytes of a multi-byte answer',
    "String.prototype.charCodeAt = function () { return 0; }; return { result: '\u00e9'.repeat(40000) };",
    fails(['result_too_large'], /at least 80013 bytes/),
  ],
  [
    'String.prototype.slice, to keep a long message',
    "String.prototype.slice = function () { return this + ''; }; throw new Error('y'.repeat(1e6));",
    fails(['program_error'], /^y{1,500}$/),
  ],
  [
    'Object.defineProperty and setters on Array.prototype',
    `if (input === 1) {
       Object.defineProperty(Array.prototype, '0', { set: function () { throw new Error('set'); } });
       Object.defineProperty = function () { throw new Error('defineProperty'); };
     }
     return { result: 'still fine' };`,
    { result: 'still fine' },
  ],
  [
    'Function.prototype.call, apply and bind',
    `Function.prototype.call = Function.prototype.apply = Function.prototype.bind = function () { throw new Error('call'); };
     return { result: '\u00e9'.repeat(30000) };`,
    { result: '\u00e9'.repeat(30000) },
  ],
];
