import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the test LLM server. */
export type Reply =
  { content: string } | { status: number; retryAfter?: number; message?: string } | { hang: true };

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: unknown;
  [key: string]: unknown;
}

/**
 * A small OpenAI-compatible server on loopback (`POST /v1/chat/completions`, `GET /v1/models`). Replies come from
 * a queue or from a function of the request; every request body is recorded for the test to inspect.
 */
export async function startOpenAiTestServer(script: Reply[] | ((req: ChatRequest) => Reply)) {
  const requests: ChatRequest[] = [];
  const hanging: http.ServerResponse[] = [];
  const next = (req: ChatRequest): Reply =>
    typeof script === 'function'
      ? script(req)
      : (script.shift() ?? { status: 500, message: 'script exhausted' });

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ object: 'list', data: [{ id: 'test-model', object: 'model', owned_by: 'test' }] }),
        );
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      const parsed = JSON.parse(body) as ChatRequest;
      requests.push(parsed);
      const reply = next(parsed);
      if ('hang' in reply) {
        hanging.push(res);
        return;
      }
      if ('status' in reply) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
        res.writeHead(reply.status, headers);
        res.end(
          JSON.stringify({
            error: { message: reply.message ?? `status ${reply.status}`, type: 'test_error' },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: parsed.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: reply.content }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A reply holding a program in a fenced block, as an LLM writes it. */
export const programReply = (code: string): Reply => ({
  content: `Here is the program:\n\n\`\`\`javascript\n${code}\n\`\`\`\n`,
});
