/**
 * Errors Node's HTTP parser meets before a request exists — a header block over the size limit
 * (16 KiB), a malformed request line, a client too slow to send its headers. Fastify's default
 * answers them with its own JSON shape; here they get the API's envelope, a request id and
 * x-should-retry like every other error (issue 19, bug 11), then the connection is closed, as the
 * parser's state is lost.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, ErrorTypes } from '../errors.ts';
import { errorBody, shouldRetry } from './error-handler.ts';

function toApiError(code: string | undefined): ApiError {
  switch (code) {
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

/** A `clientError` listener (also Fastify's `clientErrorHandler`) writing the envelope. */
export function clientErrorHandler(requestId: () => string) {
  return (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) {
      const err = toApiError(error.code);
      const id = requestId();
      const body = JSON.stringify(errorBody(err, id));
      socket.write(
        `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `Request-Id: ${id}\r\nX-Should-Retry: ${shouldRetry(err.status, err.code)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
