/**
 * A real Model Context Protocol server for the tests: the official SDK's McpServer behind its
 * StreamableHTTPServerTransport, on 127.0.0.1 (port 0), stateful (one session per client, ended by
 * the client's DELETE). Tools:
 *
 * - `add` {a: number, b: number} → the sum, as text
 * - `lookup` {key: string} → structured content `{key, value}` from a fixed table
 * - `always_fails` {} → a result with `isError: true` and the text "this tool always fails"
 * - `wait` {} → does not answer until the client cancels the call (or the session ends)
 *
 * It counts open sessions and records every request's headers, so a test can see that a client
 * closed its session and sent the connector's headers.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface TestMcpServer {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  /** host:port, for AIRMY_EGRESS_ALLOW */
  host: string;
  /** sessions initialized and not yet closed */
  openSessions(): number;
  /** sessions ever initialized */
  sessionsStarted(): number;
  /** tool calls received, in order */
  calls: Array<{ name: string; arguments: unknown }>;
  /** headers of every HTTP request received */
  requestHeaders: IncomingHttpHeaders[];
  /** resolves when the next `wait` call has started */
  waiting(): Promise<void>;
  /** `wait` calls that ended because the client cancelled them */
  cancelledWaits(): number;
  /** resolves when the next session ends (the client's DELETE, or the transport closing) */
  sessionEnded(): Promise<void>;
  close(): Promise<void>;
}

const TABLE: Record<string, string> = { alpha: 'first', omega: 'last' };

interface WaitState {
  waiters: Array<() => void>;
  cancelled: number;
}

function buildServer(calls: TestMcpServer['calls'], wait: WaitState): McpServer {
  const server = new McpServer({ name: 'airmy-test-mcp', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => {
      calls.push({ name: 'add', arguments: { a, b } });
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  server.registerTool(
    'lookup',
    {
      description: 'Looks a key up in a fixed table',
      inputSchema: { key: z.string() },
      outputSchema: { key: z.string(), value: z.string().nullable() },
    },
    async ({ key }) => {
      calls.push({ name: 'lookup', arguments: { key } });
      const structured = { key, value: TABLE[key] ?? null };
      return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
    },
  );
  server.registerTool('always_fails', { description: 'Fails every time', inputSchema: {} }, async () => {
    calls.push({ name: 'always_fails', arguments: {} });
    return { content: [{ type: 'text', text: 'this tool always fails' }], isError: true };
  });
  server.registerTool(
    'wait',
    { description: 'Waits until cancelled', inputSchema: {} },
    async (_args, extra) => {
      calls.push({ name: 'wait', arguments: {} });
      for (const wake of wait.waiters.splice(0)) wake();
      if (!extra.signal.aborted) {
        await new Promise<void>((resolve) =>
          extra.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      }
      wait.cancelled += 1;
      return { content: [{ type: 'text', text: 'cancelled' }] };
    },
  );
  return server;
}

export async function startMcpServer(): Promise<TestMcpServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const calls: TestMcpServer['calls'] = [];
  const requestHeaders: IncomingHttpHeaders[] = [];
  const wait: WaitState = { waiters: [], cancelled: 0 };
  const endWaiters: Array<() => void> = [];
  const ended = (id: string | undefined) => {
    if (id === undefined || !transports.delete(id)) return;
    for (const wake of endWaiters.splice(0)) wake();
  };
  let started = 0;

  const http = createServer(async (req, res) => {
    requestHeaders.push(req.headers);
    try {
      if ((req.url ?? '').split('?')[0] !== '/mcp') {
        res.writeHead(404).end();
        return;
      }
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (req.method !== 'POST') {
        if (!existing) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no session"}');
          return;
        }
        await existing.handleRequest(req, res);
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (existing) {
        await existing.handleRequest(req, res, body);
        return;
      }
      if (sessionId !== undefined || !isInitializeRequest(body)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no session"}');
        return;
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          started += 1;
          transports.set(id, transport);
        },
        onsessionclosed: (id) => ended(id),
      });
      transport.onclose = () => ended(transport.sessionId);
      await buildServer(calls, wait).connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      else res.destroy();
    }
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    host: `127.0.0.1:${port}`,
    openSessions: () => transports.size,
    sessionsStarted: () => started,
    calls,
    requestHeaders,
    waiting: () => new Promise<void>((resolve) => wait.waiters.push(resolve)),
    cancelledWaits: () => wait.cancelled,
    sessionEnded: () => new Promise<void>((resolve) => endWaiters.push(resolve)),
    async close() {
      for (const t of transports.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      http.close();
      await once(http, 'close');
    },
  };
}
