import { silentLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/server';
import type { Settings } from '../../src/settings';

/** A real server on a free loopback port, over a data dir of the test's own. */
export function startTestServer(dataDir: string, overrides: Partial<Settings> = {}): Promise<RunningServer> {
  return startServer(
    {
      data_dir: dataDir,
      host: '127.0.0.1',
      port: 0,
      sandbox: { children: 2, child_heap_mb: 256 },
      ...overrides,
    },
    silentLogger(),
  );
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON over HTTP with fetch; bodies given as strings are sent as they are (for malformed-input tests). */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Polls until `check` passes or the time is up (file events and reloads are asynchronous). */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** Polls `GET /jobs/{id}` until the job has succeeded or failed. */
export function finishedJob(base: string, jobId: string, timeoutMs = 20_000): Promise<any> {
  return eventually(async () => {
    const job = await call(base, 'GET', `/jobs/${jobId}`);
    if (job.body.state !== 'succeeded' && job.body.state !== 'failed')
      throw new Error(`job still ${job.body.state}`);
    return job.body;
  }, timeoutMs);
}
