/**
 * One request through inject(), read as a stream so that an SSE answer is seen as soon as its head
 * is written: `maxBytes` bounds how much of an event stream is read before it is let go (a follower
 * of a live object never ends by itself).
 */
import type { TestApp } from './harness.ts';

export interface Sent {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  sse: boolean;
  /** the stream was let go after maxBytes, not read to its end */
  truncated: boolean;
}

export interface SendOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
  /** bytes sent as they are, instead of `payload` as JSON (with the caller's own Content-Type) */
  raw?: Buffer | string;
  /** of an event stream; default: read to the end */
  maxBytes?: number;
}

export async function send(t: TestApp, options: SendOptions): Promise<Sent> {
  const hasBody = options.payload !== undefined;
  const payload = options.raw ?? (hasBody ? JSON.stringify(options.payload) : undefined);
  const res = await t.app.inject({
    method: options.method as 'GET',
    url: options.url,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(payload !== undefined ? { payload } : {}),
    payloadAsStream: true,
  });
  const sse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
  const stream = res.stream();
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (sse && options.maxBytes !== undefined && size >= options.maxBytes) {
      truncated = true;
      stream.destroy();
      break;
    }
  }
  return {
    status: res.statusCode,
    headers: res.headers as Sent['headers'],
    text: Buffer.concat(chunks).toString('utf8'),
    sse,
    truncated,
  };
}
