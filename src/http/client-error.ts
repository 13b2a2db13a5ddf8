/**
 * Errors Node's HTTP parser meets before a request exists — a header block over the size limit
 * (16 KiB), a malformed request line, a client too slow to send its headers. Fastify's default
 * answers them with its own JSON shape; here they get the API's envelope, a request id and
 * x-should-retry like every other error (issue 19, bug 11), then the connection is closed, as the
 * parser's state is lost. A method the parser does not know (`FOO /v2/runs`) is a 405 with the
 * path's Allow, like a known method no route takes (src/http/methods.ts).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, ErrorTypes } from '../errors.ts';
import { errorBody, shouldRetry } from './error-handler.ts';

type ParserError = Error & { code?: string; rawPacket?: unknown };

const printable = (text: string) => text.slice(0, 200).replace(/[^!-~]/g, '?');

function toApiError(error: ParserError, allowed: (path: string) => string[]): ApiError {
  switch (error.code) {
    case 'HPE_INVALID_METHOD': {
      const raw = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.toString('latin1') : '';
      const [method = '', target = '/'] = raw.split(/[\r\n]/)[0].split(' ');
      const path = target.split('?')[0];
      const methods = allowed(path);
      return new ApiError(
        405,
        ErrorTypes.invalid_request,
        'method_not_allowed',
        `${printable(method)} is not allowed on ${printable(path)}`,
        methods.length > 0 ? { headers: { allow: methods.join(', ') } } : {},
      );
    }
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(
        431,
        ErrorTypes.invalid_request,
        'request_headers_too_large',
        'The request headers exceed the 16 KiB limit',
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(
        408,
        ErrorTypes.invalid_request,
        'request_timeout',
        'The request was not received in time',
      );
    default:
      return new ApiError(
        400,
        ErrorTypes.invalid_request,
        'malformed_request',
        'The HTTP request is malformed',
      );
  }
}

/**
 * A `clientError` listener (also Fastify's `clientErrorHandler`) writing the envelope; `allowed`
 * gives a path's routed methods, for the Allow header of a 405.
 */
export function clientErrorHandler(requestId: () => string, allowed: (path: string) => string[] = () => []) {
  return (error: ParserError, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) {
      const err = toApiError(error, allowed);
      const headers = Object.entries(err.headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      const id = requestId();
      const body = JSON.stringify(errorBody(err, id));
      socket.write(
        `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `Request-Id: ${id}\r\nX-Should-Retry: ${shouldRetry(err.status, err.code)}\r\n${headers}` +
          `Connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
