/**
 * `mcp` connectors: a remote Model Context Protocol server over streamable HTTP, through the
 * official SDK's Client. `mcpTools` connects, lists the server's tools and returns them as
 * ToolDefinitions that call back into the same session; the session lives until `close` (shared
 * by all of them) — the run engine calls it when the run ends, so a run holds one MCP session.
 *
 * Egress: every HTTP request the transport makes goes through the egress guard's `fetch` (so the
 * address is checked, pinned against DNS rebinding, redirects re-checked, time and size bounded).
 * That fetch returns whole bodies, which suits the POST exchanges (a response stream ends with
 * its response); the optional long-lived GET stream for server-initiated messages is answered
 * 405 locally, which the protocol allows and the SDK treats as "no such stream": a run only needs
 * request/response.
 *
 * Failures: anything while connecting or listing becomes a ToolError (the run fails with
 * `tool_unavailable` quoting it); a call the server answers with `isError` and a call that fails
 * on the wire become ToolErrors the model sees as the tool's result.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { type Egress, EgressError } from '../../infra/egress/egress.ts';
import { type ToolDefinition, ToolError } from '../tool.ts';

/** Per HTTP exchange with the server. */
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** A server offering more tools than this is cut off: each one costs prompt tokens on every step. */
const MAX_TOOLS = 128;
const MAX_RESULT_CHARS = 100_000;
const TOOL_NAME = /[^A-Za-z0-9_-]/g;

export interface McpConnection {
  url: string;
  headers: Record<string, string>;
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** A fetch for the SDK transport that only ever reaches the network through the egress guard. */
function guardedFetch(egress: Pick<Egress, 'fetch'>) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : input;
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET') return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      throw new TypeError('MCP request bodies are JSON text');
    }
    const res = await egress.fetch(
      url,
      {
        method,
        headers: headerRecord(init?.headers),
        ...(typeof body === 'string' ? { body } : {}),
        ...(init?.signal ? { signal: init.signal } : {}),
      },
      { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: MAX_RESPONSE_BYTES },
    );
    const empty = res.status === 204 || res.status === 205 || res.status === 304;
    return new Response(empty ? null : res.body, { status: res.status, headers: res.headers });
  };
}

function rootCause(error: unknown): unknown {
  let e = error;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) {
    if (e instanceof EgressError) return e;
    e = e.cause;
  }
  return e;
}

/** A ToolError telling what went wrong talking to the server, without internals. */
function wireError(error: unknown, doing: string): ToolError {
  if (error instanceof ToolError) return error;
  const cause = rootCause(error);
  if (cause instanceof EgressError)
    return new ToolError(`egress_${cause.code}`, `${doing}: ${cause.message}`);
  if (error instanceof McpError) return new ToolError('mcp_error', `${doing}: ${error.message}`);
  const status = /HTTP (\d{3})/.exec(error instanceof Error ? error.message : '');
  return new ToolError(
    'mcp_unreachable',
    status
      ? `${doing}: the server answered HTTP ${status[1]}`
      : `${doing}: the MCP server could not be reached`,
  );
}

type Content = { type: string; text?: string; [k: string]: unknown };

/** What the model gets back: structured content if any, else the text, else the content parts. */
function resultValue(result: { content?: unknown; structuredContent?: unknown }): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const content = (Array.isArray(result.content) ? result.content : []) as Content[];
  if (content.every((c) => c.type === 'text')) {
    const text = content.map((c) => c.text ?? '').join('\n');
    return text.length > MAX_RESULT_CHARS ? text.slice(0, MAX_RESULT_CHARS) + '…' : text;
  }
  return content.map((c) => (c.type === 'text' ? c : { type: c.type }));
}

function errorText(result: { content?: unknown }): string {
  const content = (Array.isArray(result.content) ? result.content : []) as Content[];
  const text = content
    .filter((c) => c.type === 'text')
    .map((c) => c.text ?? '')
    .join('\n')
    .trim();
  return (text || 'The MCP tool reported an error').slice(0, 1000);
}

/** The server's input schema minus `$schema`, which some model APIs refuse in a tool definition. */
function modelSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  return rest;
}

export async function mcpTools(
  conn: McpConnection,
  egress: Pick<Egress, 'fetch'>,
): Promise<ToolDefinition[]> {
  const transport = new StreamableHTTPClientTransport(new URL(conn.url), {
    requestInit: { headers: conn.headers },
    fetch: guardedFetch(egress),
  });
  const client = new Client({ name: 'airmy', version: '2' });
  let closing: Promise<void> | undefined;
  // Ends the server-side session (DELETE) before dropping the client, so the server can free it.
  const close = () => {
    closing ??= transport
      .terminateSession()
      .catch(() => {})
      .then(() => client.close())
      .catch(() => {});
    return closing;
  };
  try {
    await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    const listed: Awaited<ReturnType<Client['listTools']>>['tools'] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: REQUEST_TIMEOUT_MS });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && listed.length < MAX_TOOLS);

    return listed.slice(0, MAX_TOOLS).map((t) => ({
      name: t.name.replace(TOOL_NAME, '_').slice(0, 64),
      description: (t.description ?? t.title ?? t.name).slice(0, 1024),
      inputSchema: modelSchema(t.inputSchema),
      async execute(input, { signal }) {
        const args = input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
        let result: { isError?: unknown; content?: unknown; structuredContent?: unknown };
        try {
          // The SDK's result type also covers a legacy `toolResult` shape; these are the fields read.
          result = (await client.callTool({ name: t.name, arguments: args }, undefined, {
            signal,
            timeout: REQUEST_TIMEOUT_MS,
          })) as typeof result;
        } catch (error) {
          if (signal.aborted) throw error;
          throw wireError(error, `Calling ${t.name}`);
        }
        if (result.isError) throw new ToolError('tool_error', errorText(result));
        return resultValue(result);
      },
      close,
    }));
  } catch (error) {
    await close();
    throw wireError(error, `Connecting to the MCP server at ${new URL(conn.url).host}`);
  }
}
