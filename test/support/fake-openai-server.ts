/**
 * A local server that speaks enough of OpenAI's wire protocol for the AI SDK adapters:
 * `POST /v1/responses` (what @ai-sdk/openai calls for `openai/…` ids: it defaults to the
 * Responses API) and `POST /v1/chat/completions` (what @ai-sdk/openai-compatible calls), each as
 * JSON or as SSE when the body says `stream: true`, with usage. With `apiKey` set, any other
 * bearer token gets a 401 whose message echoes the token, as a careless upstream might.
 * `scriptToolCalls` makes the next reply a set of function calls instead of text (queue several
 * for several tool steps), so the AI SDK's tool loop runs against the real adapters.
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

export interface ScriptedToolCall {
  name: string;
  input: unknown;
}

export interface FakeOpenAIServer extends FakeModelServer {
  /** the next reply (one per call of this) asks for these function calls instead of answering */
  scriptToolCalls(calls: ScriptedToolCall[]): void;
}

export interface FakeOpenAIOptions {
  /** when set, requests must carry `Authorization: Bearer <apiKey>` */
  apiKey?: string;
}

const CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z

function errorBody(status: number, message: string) {
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null;
  return { error: { message, type, param: null, code } };
}

const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'Incorrect API key provided.',
  429: 'Rate limit reached for requests. Please try again in 1s.',
  500: 'The server had an error while processing your request. Sorry about that!',
};

export async function startFakeOpenAIServer(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
  const script = defaultScript();
  const toolSteps: ScriptedToolCall[][] = [];
  let callCount = 0;
  const fake: FakeOpenAIServer = {
    scriptToolCalls(calls) {
      toolSteps.push(calls);
    },
    baseURL: '',
    requests: [],
    script,
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

  function responseToolCalls(request: RecordedRequest, reply: Reply, calls: ScriptedToolCall[]) {
    const body = request.body as { model: string; stream?: boolean };
    const s = fake.script;
    const items = calls.map((c) => {
      callCount += 1;
      return {
        type: 'function_call',
        id: `fc_fake_${callCount}`,
        call_id: `call_fake_${callCount}`,
        name: c.name,
        arguments: JSON.stringify(c.input),
        status: 'completed',
      };
    });
    const usage = {
      input_tokens: s.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: s.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: s.inputTokens + s.outputTokens,
    };
    const response = {
      id: `resp_fake_tools_${callCount}`,
      object: 'response',
      created_at: CREATED,
      model: body.model,
      status: 'completed',
      incomplete_details: null,
      output: items,
      usage,
    };
    if (!body.stream) return reply.delayedJson(response);
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>): SseEvent => ({
      event: type,
      data: JSON.stringify({ type, sequence_number: seq++, ...data }),
    });
    const inProgress = { ...response, status: 'in_progress', output: [], usage: null };
    return reply.sse([
      ev('response.created', { response: inProgress }),
      ev('response.in_progress', { response: inProgress }),
      ...items.flatMap((item, i) => [
        ev('response.output_item.added', {
          output_index: i,
          item: { ...item, arguments: '', status: 'in_progress' },
        }),
        ev('response.function_call_arguments.delta', {
          item_id: item.id,
          output_index: i,
          delta: item.arguments,
        }),
        ev('response.function_call_arguments.done', {
          item_id: item.id,
          output_index: i,
          arguments: item.arguments,
        }),
        ev('response.output_item.done', { output_index: i, item }),
      ]),
      ev('response.completed', { response }),
    ]);
  }

  function chatToolCalls(request: RecordedRequest, reply: Reply, calls: ScriptedToolCall[]) {
    const body = request.body as { model: string; stream?: boolean };
    const s = fake.script;
    const toolCalls = calls.map((c, index) => {
      callCount += 1;
      return {
        index,
        id: `call_fake_${callCount}`,
        type: 'function',
        function: { name: c.name, arguments: JSON.stringify(c.input) },
      };
    });
    const head = { id: `chatcmpl-fake-tools-${callCount}`, created: CREATED, model: body.model };
    const usage = {
      prompt_tokens: s.inputTokens,
      completion_tokens: s.outputTokens,
      total_tokens: s.inputTokens + s.outputTokens,
    };
    if (!body.stream) {
      return reply.delayedJson({
        ...head,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, tool_calls: toolCalls.map(({ index, ...c }) => c) },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage,
      });
    }
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): SseEvent => ({
      data: JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra }),
    });
    return reply.sse([
      chunk([
        { index: 0, delta: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: null },
      ]),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }], { usage }),
      { data: '[DONE]' },
    ]);
  }

  function responses(request: RecordedRequest, reply: Reply) {
    const body = request.body as { model: string; stream?: boolean };
    const s = fake.script;
    const usage = {
      input_tokens: s.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: s.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: s.inputTokens + s.outputTokens,
    };
    const itemId = 'msg_fake_1';
    const part = { type: 'output_text', text: s.text, annotations: [] };
    const done = { type: 'message', id: itemId, status: 'completed', role: 'assistant', content: [part] };
    const response = {
      id: 'resp_fake_1',
      object: 'response',
      created_at: CREATED,
      model: body.model,
      status: 'completed',
      incomplete_details: null,
      output: [done],
      usage,
    };
    if (!body.stream) return reply.delayedJson(response);
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>): SseEvent => ({
      event: type,
      data: JSON.stringify({ type, sequence_number: seq++, ...data }),
    });
    const inProgress = { ...response, status: 'in_progress', output: [], usage: null };
    const at = { item_id: itemId, output_index: 0, content_index: 0 };
    return reply.sse([
      ev('response.created', { response: inProgress }),
      ev('response.in_progress', { response: inProgress }),
      ev('response.output_item.added', {
        output_index: 0,
        item: { type: 'message', id: itemId, status: 'in_progress', role: 'assistant', content: [] },
      }),
      ev('response.content_part.added', { ...at, part: { ...part, text: '' } }),
      ...chunksOf(s).map((delta) => ev('response.output_text.delta', { ...at, delta, logprobs: [] })),
      ev('response.output_text.done', { ...at, text: s.text }),
      ev('response.content_part.done', { ...at, part }),
      ev('response.output_item.done', { output_index: 0, item: done }),
      ev('response.completed', { response }),
    ]);
  }

  function chatCompletions(request: RecordedRequest, reply: Reply) {
    const body = request.body as {
      model: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
    };
    const s = fake.script;
    const usage = {
      prompt_tokens: s.inputTokens,
      completion_tokens: s.outputTokens,
      total_tokens: s.inputTokens + s.outputTokens,
    };
    const head = {
      id: 'chatcmpl-fake-1',
      created: CREATED,
      model: body.model,
      system_fingerprint: 'fp_fake',
    };
    if (!body.stream) {
      return reply.delayedJson({
        ...head,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: s.text },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
      });
    }
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): SseEvent => ({
      data: JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra }),
    });
    const events: SseEvent[] = [
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
      ...chunksOf(s).map((content) => chunk([{ index: 0, delta: { content }, finish_reason: null }])),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    ];
    // Like OpenAI, usage comes in an extra chunk only when the client asked for it.
    if (body.stream_options?.include_usage) events.push(chunk([], { usage }));
    events.push({ data: '[DONE]' });
    return reply.sse(events);
  }

  const upstream = await startFakeUpstream((request, reply) => {
    const auth = request.headers.authorization;
    if (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`) {
      const sent = auth?.replace(/^Bearer /, '') ?? '';
      return reply.json(401, errorBody(401, `Incorrect API key provided: ${sent}.`));
    }
    const calls = request.method === 'POST' ? toolSteps.shift() : undefined;
    if (request.method === 'POST' && request.path === '/v1/responses') {
      return calls ? responseToolCalls(request, reply, calls) : responses(request, reply);
    }
    if (request.method === 'POST' && request.path === '/v1/chat/completions') {
      return calls ? chatToolCalls(request, reply, calls) : chatCompletions(request, reply);
    }
    return reply.json(404, errorBody(404, `Unknown request URL: ${request.method} ${request.path}.`));
  });
  fake.baseURL = `${upstream.origin}/v1`;
  fake.requests = upstream.requests;
  return fake;
}
