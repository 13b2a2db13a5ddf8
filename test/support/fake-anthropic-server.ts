/**
 * A local server that speaks enough of Anthropic's Messages API for @ai-sdk/anthropic:
 * `POST /v1/messages`, as JSON or as SSE (`message_start` … `message_stop`) when the body says
 * `stream: true`, with usage. With `apiKey` set, any other `x-api-key` gets a 401.
 * `scriptToolCalls` makes the next reply `tool_use` blocks instead of text (queue several for
 * several tool steps).
 */
import {
  chunksOf,
  defaultScript,
  type FakeModelServer,
  type RecordedRequest,
  type Reply,
  type SseEvent,
  startFakeUpstream,
} from './fake-upstream.ts';

export interface FakeAnthropicServer extends FakeModelServer {
  /** the next stream sends its first delta, then an `error` event of this type instead of the rest */
  breakNextStream(type: string, message: string): void;
  /** the next reply (one per call of this) asks for these tool calls instead of answering */
  scriptToolCalls(calls: Array<{ name: string; input: unknown }>): void;
}

export interface FakeAnthropicOptions {
  /** when set, requests must carry `x-api-key: <apiKey>` */
  apiKey?: string;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function errorBody(status: number, message: string) {
  return { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } };
}

const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'invalid x-api-key',
  429: 'Number of requests has exceeded your rate limit.',
  500: 'Internal server error',
};

export async function startFakeAnthropicServer(
  options: FakeAnthropicOptions = {},
): Promise<FakeAnthropicServer> {
  let streamBreak: { type: string; message: string } | null = null;
  const toolSteps: Array<Array<{ name: string; input: unknown }>> = [];
  let toolUseCount = 0;
  const fake: FakeAnthropicServer = {
    scriptToolCalls(calls) {
      toolSteps.push(calls);
    },
    breakNextStream(type, message) {
      streamBreak = { type, message };
    },
    baseURL: '',
    requests: [],
    script: defaultScript(),
    failNext(status, message, headers) {
      upstream.failures.push({
        status,
        body: errorBody(status, message ?? DEFAULT_MESSAGES[status] ?? `HTTP ${status}`),
        headers,
      });
    },
    setDelay(ms) {
      upstream.delayMs = ms;
    },
    nextClientAbort: () => upstream.nextClientAbort(),
    clientAborts: () => upstream.clientAborts,
    close: () => upstream.close(),
  };

  function toolUse(request: RecordedRequest, reply: Reply, calls: Array<{ name: string; input: unknown }>) {
    const body = request.body as { model: string; stream?: boolean };
    const s = fake.script;
    const blocks = calls.map((c) => {
      toolUseCount += 1;
      return { type: 'tool_use', id: `toolu_fake_${toolUseCount}`, name: c.name, input: c.input };
    });
    const message = {
      id: `msg_fake_tools_${toolUseCount}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: blocks,
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: s.inputTokens, output_tokens: s.outputTokens },
    };
    if (!body.stream) return reply.delayedJson(message);
    const ev = (data: { type: string } & Record<string, unknown>): SseEvent => ({
      event: data.type,
      data: JSON.stringify(data),
    });
    return reply.sse([
      ev({
        type: 'message_start',
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { input_tokens: s.inputTokens, output_tokens: 1 },
        },
      }),
      ...blocks.flatMap((block, index) => [
        ev({ type: 'content_block_start', index, content_block: { ...block, input: {} } }),
        ev({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        }),
        ev({ type: 'content_block_stop', index }),
      ]),
      ev({
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: s.outputTokens },
      }),
      ev({ type: 'message_stop' }),
    ]);
  }

  function messages(request: RecordedRequest, reply: Reply) {
    const body = request.body as { model: string; stream?: boolean };
    const s = fake.script;
    const calls = toolSteps.shift();
    if (calls) return toolUse(request, reply, calls);
    const message = {
      id: 'msg_fake_01',
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [{ type: 'text', text: s.text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: s.inputTokens, output_tokens: s.outputTokens },
    };
    if (!body.stream) return reply.delayedJson(message);
    const ev = (data: { type: string } & Record<string, unknown>): SseEvent => ({
      event: data.type,
      data: JSON.stringify(data),
    });
    const start = ev({
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { input_tokens: s.inputTokens, output_tokens: 1 },
      },
    });
    const deltas = chunksOf(s).map((text) =>
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
    );
    const blockStart = ev({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    if (streamBreak) {
      const error = streamBreak;
      streamBreak = null;
      return reply.sse([start, blockStart, deltas[0], ev({ type: 'error', error })]);
    }
    return reply.sse([
      start,
      blockStart,
      ev({ type: 'ping' }),
      ...deltas,
      ev({ type: 'content_block_stop', index: 0 }),
      ev({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: s.outputTokens },
      }),
      ev({ type: 'message_stop' }),
    ]);
  }

  const upstream = await startFakeUpstream((request, reply) => {
    if (options.apiKey !== undefined && request.headers['x-api-key'] !== options.apiKey) {
      return reply.json(401, errorBody(401, 'invalid x-api-key'));
    }
    if (request.method === 'POST' && request.path === '/v1/messages') return messages(request, reply);
    return reply.json(404, errorBody(404, `Not found: ${request.method} ${request.path}`));
  });
  fake.baseURL = `${upstream.origin}/v1`;
  fake.requests = upstream.requests;
  return fake;
}
