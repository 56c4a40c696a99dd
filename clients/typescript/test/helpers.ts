import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LoopaiError } from '../src';

/** The repository's built server (`npm run build` at the root), two folders above this package. */
export const MAIN = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'main.js');

export const SPAM_PROGRAM = `
function execute(input) {
  var words = JSON.parse(loopai.files['words.json']);
  var text = input.text.toLowerCase();
  var hits = words.filter(function (w) { return text.indexOf(w) >= 0; }).length;
  return { result: hits > 0 ? 'spam' : 'ham', confidence: hits > 0 ? 0.9 : 0.6 };
}`;
export const SPAM_FILES = { 'words.json': '["win","prize","free"]' };
export const LENGTH_PROGRAM =
  "function execute(input) { return { result: input.text.length > 20 ? 'spam' : 'ham', confidence: 0.5 }; }";

export const spamSpec = (id: string, extra: Record<string, unknown> = {}) => ({
  loop_app_id: id,
  name: 'Spam test',
  task: 'Classify messages as spam or ham',
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  output_schema: { type: 'string', enum: ['spam', 'ham'] },
  ...extra,
});

/** A few dozen labelled rows per class, with varied filler so the learner's held-out part is not trivial. */
export function labelledExamples(): Array<{ input: { text: string }; output: 'spam' | 'ham' }> {
  const spam = [
    'win a free prize now',
    'claim your cash reward today',
    'you won the lottery click here',
    'urgent verify your bank account',
    'free bitcoin giveaway act fast',
    'limited offer free gift card',
  ];
  const ham = [
    'see you at lunch tomorrow',
    'the meeting moved to three',
    'can you send me the report',
    'the train is running late again',
    'dinner at our place on friday',
    'please review my pull request',
  ];
  const fillers = ['', ' ok', ' thanks', ' see below', ' regards', ' :)'];
  return (
    [
      [spam, 'spam'],
      [ham, 'ham'],
    ] as const
  ).flatMap(([texts, output]) =>
    texts.flatMap((text, i) =>
      fillers.map((filler, j) => ({ input: { text: `${text}${filler} ${i * 7 + j}` }, output })),
    ),
  );
}

export const tmpDataDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-ts-client-'));

/** A Loop App folder the way a person writes one: config.yaml, artifacts/v1/…, and a relative `active` link. */
export function writeApp(dataDir: string, id: string): void {
  const dir = path.join(dataDir, 'loop-apps', id);
  const v1 = path.join(dir, 'artifacts', 'v1');
  fs.mkdirSync(v1, { recursive: true });
  // JSON is YAML, so no YAML library is needed to write the config.
  fs.writeFileSync(path.join(dir, 'config.yaml'), JSON.stringify(spamSpec(id), null, 2));
  fs.writeFileSync(path.join(v1, 'program.js'), SPAM_PROGRAM);
  for (const [name, text] of Object.entries(SPAM_FILES)) fs.writeFileSync(path.join(v1, name), text);
  fs.symlinkSync('v1', path.join(dir, 'artifacts', 'active'));
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LoopaiServer {
  url: string;
  stop(): Promise<void>;
}

/** The real Loopai server as a child process on loopback, over `dataDir`; resolves once `GET /ready` is 200. */
export async function startServer(
  dataDir: string,
  env: Record<string, string> = {},
  port?: number,
): Promise<LoopaiServer> {
  if (!fs.existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build the server first (npm run build at the repository root)`);
  }
  port ??= await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(LOOPAI_|OPENAI_)/.test(name)),
  );
  const proc = spawn(process.execPath, [MAIN], {
    // cwd is the data dir, so no config/loopai.yaml of the repository is read.
    cwd: dataDir,
    env: {
      ...inherited,
      LOOPAI_DATA_DIR: dataDir,
      LOOPAI_HOST: '127.0.0.1',
      LOOPAI_PORT: String(port),
      LOOPAI_LOG_LEVEL: 'warn',
      LOOPAI_GENERATOR: 'learner', // generation jobs stay offline
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the server exited with ${exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/ready`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`the server was not ready within 20 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      if (exitCode === undefined) {
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/** Awaits a rejection and checks it is a LoopaiError of the given class, status and code; returns it. */
export async function rejectsWith<E extends LoopaiError>(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => E,
  status: number | undefined,
  code: string,
): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof LoopaiError, `expected a LoopaiError, got ${String(caught)}`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught.name}: ${caught.message}`);
  assert.deepEqual({ status: caught.status, code: caught.code }, { status, code }, caught.message);
  return caught;
}

/** Retries `check` until it passes or `timeoutMs` is up (the execution log is written in the background). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
