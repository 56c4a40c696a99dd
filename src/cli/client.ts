import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, EXIT, exitCodeOfStatus } from './errors';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  url: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** How long one request may take before the server counts as unreachable. */
  timeoutMs: number;
  /** Told when a request waits out a 429 before trying again. */
  onRetry?: (message: string) => void;
}

/** An error answer of the server: `{error: {code, message, details}}` with its status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details?: unknown,
  ) {
    super(message, exitCodeOfStatus(status), details);
    this.name = 'ApiError';
  }
}

/** How often a request answered 429 is tried again (after the server's Retry-After) before giving up. */
const RATE_LIMIT_RETRIES = 3;
const MAX_RETRY_WAIT_S = 60;

/** `/loop-apps/{id}/…` with every segment encoded. */
export const appPath = (id: string, ...rest: string[]) =>
  ['/loop-apps', ...[id, ...rest].map(encodeURIComponent)].join('/');

/** A file sent as a request body, opened anew for each try (a 429 is tried again). */
class FileBody {
  constructor(
    readonly file: string,
    readonly contentType: string,
    private readonly onBytes: (n: number) => void,
  ) {}

  open(): ReadableStream {
    const source = this.file === '-' ? process.stdin : fs.createReadStream(this.file);
    source.on('data', (chunk: Buffer) => this.onBytes(chunk.length));
    return Readable.toWeb(source) as ReadableStream;
  }
}

/** A small JSON client of the Loopai HTTP API (global fetch). */
export class Client {
  readonly url: string;

  constructor(private readonly options: ClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new CliError(`--url: '${options.url}' is not a URL (e.g. http://127.0.0.1:8080)`, EXIT.usage);
    }
    this.url = parsed.href.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  /**
   * Streams a file as the body of a POST (never held in memory whole), telling `onBytes` as it goes. No request
   * timeout: a large upload takes as long as it takes.
   */
  upload<T>(path: string, file: string, contentType: string, onBytes: (n: number) => void): Promise<T> {
    return this.request<T>('POST', path, new FileBody(file, contentType, onBytes));
  }

  /** Streams the answer of a GET to `out` (an export of any size). */
  async download(path: string, out: NodeJS.WritableStream): Promise<void> {
    const res = await this.send('GET', path, undefined, false);
    if (!res.ok) throw errorOf(res.status, await res.text());
    if (res.body) await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), out);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(method, path, body);
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : null) as T;
      const wait = Number(res.headers.get('retry-after'));
      if (res.status === 429 && attempt < RATE_LIMIT_RETRIES && wait >= 0 && wait <= MAX_RETRY_WAIT_S) {
        this.options.onRetry?.(`rate limited; trying again in ${wait} s`);
        await new Promise((r) => setTimeout(r, wait * 1000));
        continue;
      }
      throw errorOf(res.status, text);
    }
  }

  private async send(method: string, path: string, body: unknown, timeout = true): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    const streamed = body instanceof FileBody ? body : null;
    if (body !== undefined) headers['content-type'] = streamed?.contentType ?? 'application/json';
    try {
      return await fetch(this.url + path, {
        method,
        headers,
        body: streamed ? streamed.open() : body === undefined ? undefined : JSON.stringify(body),
        // a streamed body or answer takes as long as it takes
        ...(streamed
          ? { duplex: 'half' }
          : timeout
            ? { signal: AbortSignal.timeout(this.options.timeoutMs) }
            : {}),
      } as RequestInit);
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  private unreachable(err: unknown): CliError {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${this.options.timeoutMs / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return new CliError(
      `cannot reach the Loopai server at ${this.url}: ${why} (start one with 'loopai serve', or point --url / LOOPAI_URL at it)`,
      EXIT.unreachable,
    );
  }
}

/** The server's own message when the body is its error format, else the status and the start of the body. */
function errorOf(status: number, text: string): ApiError {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (error?.message) return new ApiError(status, error.code ?? 'error', error.message, error.details);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, 'http_error', `HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ''}`);
}
