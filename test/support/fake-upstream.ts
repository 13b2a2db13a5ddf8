/**
 * The shared half of the fake model servers (fake-openai-server.ts, fake-anthropic-server.ts): a
 * real node:http server on 127.0.0.1, port 0, that records every request, can be told to fail the
 * next one, streams SSE with an optional delay between events, and reports when a client hangs up
 * on a stream before it ended, so an abort test can await that instead of sleeping.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** parsed JSON body, or the raw text when it is not JSON */
  body: unknown;
  /** the whole reply was written (false: still going, or the client hung up first) */
  completed: boolean;
}

export interface SseEvent {
  event?: string;
  data: string;
}

export interface Failure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeUpstream {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: RecordedRequest[];
  /** queued failures, answered in order before any normal reply */
  failures: Failure[];
  /** pause before a JSON reply and before each SSE event */
  delayMs: number;
  /** replies the client hung up on before they were complete */
  clientAborts: number;
  /** resolves at the next client hang-up on an unfinished reply */
  nextClientAbort(): Promise<void>;
  close(): Promise<void>;
}

export interface Reply {
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  /** 200 JSON after `delayMs` */
  delayedJson(body: unknown): Promise<void>;
  /** 200 text/event-stream, `delayMs` before each event; stops if the client hangs up */
  sse(events: SseEvent[]): Promise<void>;
}

/** What the protocol-specific fakes expose to tests. */
export interface FakeModelServer {
  /** base URL as the AI SDK wants it, API version segment included */
  baseURL: string;
  requests: RecordedRequest[];
  /** what successful replies say; `chunks` (default: one per word) must join to `text` */
  script: { text: string; chunks?: string[]; inputTokens: number; outputTokens: number };
  /** answer the next request with this status and the protocol's error body */
  failNext(status: number, message?: string, headers?: Record<string, string>): void;
  /** pause before a successful JSON reply and before each SSE event */
  setDelay(ms: number): void;
  nextClientAbort(): Promise<void>;
  clientAborts(): number;
  close(): Promise<void>;
}

export function defaultScript(): FakeModelServer['script'] {
  return { text: 'The quick brown fox jumps over the lazy dog.', inputTokens: 21, outputTokens: 10 };
}

export function chunksOf(script: FakeModelServer['script']): string[] {
  return script.chunks ?? script.text.match(/\S+\s*/g) ?? [];
}

export type Handler = (request: RecordedRequest, reply: Reply) => Promise<void> | void;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export async function startFakeUpstream(handle: Handler): Promise<FakeUpstream> {
  const waiters: Array<() => void> = [];

  async function sendSse(res: ServerResponse, events: SseEvent[]): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    for (const { event, data } of events) {
      if (upstream.delayMs > 0) await sleep(upstream.delayMs);
      if (res.destroyed) return;
      res.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
    }
    res.end();
  }

  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const raw = Buffer.concat(parts).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw === '' ? null : JSON.parse(raw);
    } catch {
      // keep the raw text: a test may want to see what was sent
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0],
      headers: req.headers,
      body,
      completed: false,
    };
    upstream.requests.push(recorded);
    res.on('finish', () => {
      recorded.completed = true;
    });
    res.on('close', () => {
      if (res.writableFinished) return;
      upstream.clientAborts += 1;
      for (const wake of waiters.splice(0)) wake();
    });
    const failure = upstream.failures.shift();
    if (failure) {
      sendJson(res, failure.status, failure.body, failure.headers);
      return;
    }
    try {
      await handle(recorded, {
        json: (status, json, headers) => sendJson(res, status, json, headers),
        delayedJson: async (json) => {
          if (upstream.delayMs > 0) await sleep(upstream.delayMs);
          if (!res.destroyed) sendJson(res, 200, json);
        },
        sse: (events) => sendSse(res, events),
      });
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error) } });
      else res.destroy();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const upstream: FakeUpstream = {
    origin: `http://127.0.0.1:${port}`,
    requests: [],
    failures: [],
    delayMs: 0,
    clientAborts: 0,
    nextClientAbort() {
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return upstream;
}
