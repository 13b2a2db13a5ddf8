/**
 * Run input and agent parameters → AI SDK call settings. Parameters use the API's snake_case
 * names; a wrong type is the caller's mistake and fails the call with `provider_bad_request`
 * before anything is sent. Unknown parameters are ignored: agent configs may carry settings for
 * other parts of the engine.
 */
import { ModelError, ModelErrorCodes } from './errors.ts';
import type { MockOptions } from './mock-model.ts';

export interface CallSettings {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
}

/** A day: anything longer is a typo, and would hold a worker slot hostage. */
const MAX_MOCK_LATENCY_MS = 86_400_000;
/** Model steps that may call tools when `max_tool_steps` is not set, and the most it may ask for. */
export const DEFAULT_TOOL_STEPS = 8;
export const MAX_TOOL_STEPS = 20;
const MAX_MOCK_TOOL_CALLS = 16;

function bad(name: string, rule: string): ModelError {
  return new ModelError(ModelErrorCodes.provider_bad_request, `parameters.${name}: ${rule}`);
}

function finite(params: Record<string, unknown>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(name, 'must be a number');
  return v;
}

function positiveInt(params: Record<string, unknown>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(name, 'must be a whole number ≥ 1');
  return v;
}

/** The user message: `input.query`, `input.prompt` or `input.message` if a string, else the JSON. */
export function userMessage(input: Record<string, unknown>): string {
  for (const key of ['query', 'prompt', 'message']) {
    const v = input[key];
    if (typeof v === 'string') return v;
  }
  return JSON.stringify(input);
}

export function callSettings(params: Record<string, unknown>): CallSettings {
  const settings: CallSettings = {};
  const temperature = finite(params, 'temperature');
  if (temperature !== undefined) settings.temperature = temperature;
  const topP = finite(params, 'top_p');
  if (topP !== undefined) settings.topP = topP;
  const maxOutputTokens = positiveInt(params, 'max_output_tokens');
  if (maxOutputTokens !== undefined) settings.maxOutputTokens = maxOutputTokens;
  const stop = params.stop;
  if (typeof stop === 'string') {
    settings.stopSequences = [stop];
  } else if (Array.isArray(stop)) {
    if (!stop.every((s) => typeof s === 'string')) throw bad('stop', 'must be a string or a list of strings');
    if (stop.length > 0) settings.stopSequences = stop;
  } else if (stop !== undefined && stop !== null) {
    throw bad('stop', 'must be a string or a list of strings');
  }
  return settings;
}

export function mockOptions(params: Record<string, unknown>): MockOptions {
  const options: MockOptions = {};
  const reply = params.mock_reply;
  if (reply !== undefined && reply !== null) {
    if (typeof reply !== 'string') throw bad('mock_reply', 'must be a string');
    options.reply = reply;
  }
  const latency = finite(params, 'mock_latency_ms');
  if (latency !== undefined) {
    if (latency < 0 || latency > MAX_MOCK_LATENCY_MS) {
      throw bad('mock_latency_ms', `must be from 0 to ${MAX_MOCK_LATENCY_MS}`);
    }
    options.latencyMs = latency;
  }
  const errorRate = finite(params, 'mock_error_rate');
  if (errorRate !== undefined) {
    if (errorRate < 0 || errorRate > 1) throw bad('mock_error_rate', 'must be from 0 to 1');
    options.errorRate = errorRate;
  }
  const chunkSize = positiveInt(params, 'mock_chunk_size');
  if (chunkSize !== undefined) options.chunkSize = chunkSize;
  const script = mockToolScript(params);
  if (script) Object.assign(options, script);
  const error = params.mock_error;
  if (error !== undefined && error !== null) {
    const e = error as Record<string, unknown>;
    if (
      typeof error !== 'object' ||
      typeof e.message !== 'string' ||
      (e.code !== undefined && typeof e.code !== 'string')
    ) {
      throw bad('mock_error', 'must be {"message": string, "code"?: string}');
    }
    options.error = e.code === undefined ? { message: e.message } : { code: e.code, message: e.message };
  }
  return options;
}

/**
 * `max_tool_steps`: how many model steps may call tools before the model must answer in text
 * (the tool loop runs at most that many steps plus the answering one).
 */
export function toolSteps(params: Record<string, unknown>): number {
  const steps = positiveInt(params, 'max_tool_steps');
  if (steps !== undefined && steps > MAX_TOOL_STEPS)
    throw bad('max_tool_steps', `must be from 1 to ${MAX_TOOL_STEPS}`);
  return steps ?? DEFAULT_TOOL_STEPS;
}

/**
 * The mock's tool script: `mock_tool_calls: [{tool, input}]` are called, in parallel, by the
 * first step; `mock_tool_rounds` (default 1) repeats them on that many steps, so a large number
 * stands for a model that never stops calling tools.
 */
function mockToolScript(
  params: Record<string, unknown>,
): Pick<MockOptions, 'toolCalls' | 'toolRounds'> | null {
  const calls = params.mock_tool_calls;
  if (calls === undefined || calls === null) return null;
  const rule = `must be a list of at most ${MAX_MOCK_TOOL_CALLS} {"tool": string, "input"?: object}`;
  if (!Array.isArray(calls) || calls.length > MAX_MOCK_TOOL_CALLS) throw bad('mock_tool_calls', rule);
  const toolCalls = calls.map((call: unknown) => {
    const c = call as Record<string, unknown>;
    const input = c?.input ?? {};
    if (
      call === null ||
      typeof call !== 'object' ||
      typeof c.tool !== 'string' ||
      c.tool === '' ||
      input === null ||
      typeof input !== 'object' ||
      Array.isArray(input)
    ) {
      throw bad('mock_tool_calls', rule);
    }
    return { tool: c.tool, input: input as Record<string, unknown> };
  });
  return { toolCalls, toolRounds: positiveInt(params, 'mock_tool_rounds') ?? 1 };
}
