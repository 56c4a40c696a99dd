/** Load on a server over loopback: as fast as it goes (autocannon), one connection at a time, a fixed rate. */
import http from 'node:http';
import autocannon from 'autocannon';

export interface Load {
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  errors: number;
}

/** As many requests as `connections` keep-alive connections get answered (autocannon: latencies in whole ms). */
export async function saturate(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<Load> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/** One POST on a keep-alive agent; resolves to whether it was answered 2xx. */
function post(agent: http.Agent, url: URL, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode! < 300));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function summary(latencies: number[], errors: number, seconds: number): Load {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rps: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors,
  };
}

/** Requests one after another on one connection: the latency of a call with nothing else going on. */
export async function oneConnection(url: string, body: string, seconds: number): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const sent = performance.now();
    if (!(await post(agent, target, body))) errors++;
    latencies.push(performance.now() - sent);
  }
  agent.destroy();
  return summary(latencies, errors, seconds);
}

/**
 * `rate` requests a second, each sent at its scheduled time whether or not the ones before were answered (a
 * server that falls behind is not hidden by a client that waits for it); latency from the moment it was sent.
 */
export async function paced(url: string, body: string, rate: number, seconds: number): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(url);
  const latencies: number[] = [];
  let errors = 0;
  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    pending.push(
      post(agent, target, body).then((ok) => {
        if (!ok) errors++;
        latencies.push(performance.now() - sent);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return summary(latencies, errors, seconds);
}
