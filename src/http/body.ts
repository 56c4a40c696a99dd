import type { IncomingMessage } from 'node:http';
import { ApiError } from '../domain/errors';
import { jsonTextDepth } from '../domain/json-limits';

/** What a request body may be: its size in bytes and how deep its JSON may nest. */
export interface BodyLimits {
  maxBytes: number;
  maxDepth: number;
}

/**
 * Reads and parses a JSON request body once, with a size limit: the one body reader of every route, so the
 * execute path pays for no generic parser and every route answers bad bodies the same way.
 */
export function readJson(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const limitBytes = limits.maxBytes;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(json|x-ndjson|jsonl)\b|\+json\b/i.test(type)) {
    return Promise.reject(
      new ApiError(
        'unsupported_media_type',
        `send the body as JSON with 'Content-Type: application/json' (got '${type || 'none'}')`,
      ),
    );
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(tooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(tooLarge(limitBytes));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > limitBytes) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        checkDepth(text, limits.maxDepth);
        resolve(/ndjson|jsonl/i.test(type) ? parseJsonLines(text) : parseJson(text));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('malformed_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** `application/x-ndjson` bodies (one JSON value a line) arrive as an array. */
function parseJsonLines(text: string): unknown[] {
  const rows: unknown[] = [];
  const bad: Array<{ line: number; message: string }> = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      rows.push(JSON.parse(line));
    } catch (err) {
      bad.push({ line: i + 1, message: (err as Error).message });
    }
  });
  if (bad.length)
    throw new ApiError('malformed_json', `${bad.length} line(s) are not valid JSON`, { lines: bad });
  return rows;
}

/** Before parsing: a value nested deeper than the limit would overflow the stack of the walks after it. */
function checkDepth(text: string, maxDepth: number): void {
  // a JSON Lines body nests one level less per line than the text's brackets say; the array it becomes adds one
  const depth = jsonTextDepth(text);
  if (depth > maxDepth) {
    throw new ApiError(
      'too_deep',
      `the body nests objects and arrays ${depth} levels deep; the limit is ${maxDepth} (max_json_depth in settings)`,
      { depth, limit: maxDepth },
    );
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    'body_too_large',
    `the body is larger than the limit of ${limit} bytes (max_body_bytes in settings)`,
  );
}
