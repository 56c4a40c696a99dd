import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../domain/errors';

/** How long a connection that sent a request Node could not parse may go on sending before it is cut. */
const LINGER_MS = 2000;

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over the size limit, malformed request
 * lines) get the same JSON error format as everything else instead of a bare status line or a reset.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const error = tooLarge
      ? new ApiError('headers_too_large', 'the request headers are larger than the server accepts (16 KB)')
      : new ApiError('malformed_request', 'the request is not valid HTTP/1.1');
    const body = JSON.stringify(error.toBody());
    socket.end(
      `HTTP/1.1 ${error.status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // keep reading what the client still sends, so closing with unread data does not reset the connection
    // before it has read the answer
    socket.on('data', () => {});
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
}
