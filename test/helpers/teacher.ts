import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The truth the test oracles tell: spam when the text offers something. */
export const truth = (text: string) => (/win|prize|free|offer/i.test(text) ? 'spam' : 'ham');

/** A local HTTP teacher: answers `{output}` by the truth, or as `behave` says. */
export async function startTeacher(
  behave?: (input: {
    text: string;
  }) => { status: number; body: string; headers?: Record<string, string> } | null,
) {
  const inputs: unknown[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const { input } = JSON.parse(raw);
      inputs.push(input);
      const special = behave?.(input);
      res.writeHead(special?.status ?? 200, { 'content-type': 'application/json', ...special?.headers });
      res.end(special?.body ?? JSON.stringify({ output: truth(input.text) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/label`,
    inputs,
    close: () => new Promise((r) => server.close(r)),
  };
}
