/**
 * A local OpenAI-compatible chat-completions server whose answers are scripted per request: the tests and the
 * improvement-loop benchmark run the real `openai` client against it instead of a hosted LLM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the test LLM server to a chat completion request. */
export type Reply =
  /** A normal completion; `finishReason` 'length' plays a reply cut off at max_tokens. */
  | { content: string | null; finishReason?: 'stop' | 'length' | 'content_filter' }
  /** An error status with an OpenAI-shaped body; `retryAfter` (seconds) / `retryAfterMs` set the retry headers. */
  | { status: number; message?: string; code?: string; retryAfter?: number; retryAfterMs?: number }
  /** Never answers (until the server closes): plays a hung server, for timeouts. */
  | { hang: true };

export interface ChatMessage {
  role: string;
  content: string | Array<{ type: string; text?: string }> | null;
  [key: string]: unknown;
}

/** The body of a chat completion request, as the client sent it. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } };
  [key: string]: unknown;
}

/** Replies in order (one per request; an exhausted queue answers 400), or a function of the request. */
export type Script = Reply[] | ((req: ChatRequest, index: number) => Reply | Promise<Reply>);

export interface OpenAiTestServer {
  /** Base URL for the client, ending in /v1. */
  url: string;
  /** Every chat completion request body received, in order (retries included). */
  requests: ChatRequest[];
  /** The headers of each request in `requests` (same index), e.g. to check the Authorization sent. */
  headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** The text of a message (string content, or its text parts joined). */
export function messageText(message: ChatMessage | undefined): string {
  if (!message || message.content === null) return '';
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part) => part.text ?? '').join('');
}

/** The text of the last message of a request: the prompt, or a repair message. */
export const lastMessage = (req: ChatRequest): string => messageText(req.messages[req.messages.length - 1]);

/** A reply holding a program in a fenced block, as an LLM writes it. */
export const programReply = (code: string): Reply => ({
  content: `Here is the program:\n\n\`\`\`javascript\n${code}\n\`\`\`\n`,
});

/** A reply holding a JSON value, as a model answers under JSON mode or structured output. */
export const jsonReply = (value: unknown): Reply => ({ content: JSON.stringify(value) });

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const errorBody = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

/**
 * A small OpenAI-compatible server on loopback (`POST /v1/chat/completions`, `GET /v1/models`) for tests: no
 * network, the real client. Replies come from a queue or a function of the request; every request is recorded.
 */
export async function startOpenAiTestServer(script: Script = []): Promise<OpenAiTestServer> {
  const requests: ChatRequest[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const hanging = new Set<http.ServerResponse>();
  const queue = Array.isArray(script) ? [...script] : null;

  const answer = async (req: http.IncomingMessage, res: http.ServerResponse, raw: string) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'loopai-test' }],
      });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendJson(res, 404, errorBody(`no route ${req.method} ${path}`, 'invalid_request_error'));
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(raw) as ChatRequest;
    } catch {
      return sendJson(res, 400, errorBody('the body is not JSON', 'invalid_request_error'));
    }
    const index = requests.length;
    requests.push(body);
    headers.push(req.headers);
    if (body.stream) {
      return sendJson(res, 400, errorBody('the test server does not stream', 'invalid_request_error'));
    }
    const reply: Reply = queue
      ? (queue.shift() ?? { status: 400, message: `test server: script exhausted at request ${index + 1}` })
      : await (script as Exclude<Script, Reply[]>)(body, index);

    if ('hang' in reply) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if ('status' in reply) {
      const extra: Record<string, string> = {};
      if (reply.retryAfter !== undefined) extra['retry-after'] = String(reply.retryAfter);
      if (reply.retryAfterMs !== undefined) extra['retry-after-ms'] = String(reply.retryAfterMs);
      const type =
        reply.status === 429
          ? 'rate_limit_error'
          : reply.status >= 500
            ? 'server_error'
            : 'invalid_request_error';
      return sendJson(
        res,
        reply.status,
        errorBody(reply.message ?? `status ${reply.status}`, type, reply.code),
        extra,
      );
    }
    const completionTokens = Math.ceil((reply.content ?? '').length / 4);
    return sendJson(res, 200, {
      id: `chatcmpl-test-${index + 1}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.content, refusal: null },
          logprobs: null,
          finish_reason: reply.finishReason ?? 'stop',
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: completionTokens, total_tokens: 10 + completionTokens },
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      answer(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, errorBody(`test server: ${err.message}`, 'server_error'));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    headers,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
