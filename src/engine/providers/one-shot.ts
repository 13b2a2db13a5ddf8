/**
 * A model call with no tools and no stream: one step, made through the provider's own `doGenerate`
 * (the AI SDK's LanguageModelV3 contract, implemented by the same provider packages generateText
 * drives) under the SDK's retry policy, rather than through `generateText`.
 *
 * For a single step generateText adds only overhead: it builds a zod validator and runs it over a
 * prompt we built ourselves from two strings, records telemetry spans and deep-clones the response
 * messages. That cost ~35 µs a call, about an eighth of a zero-latency sync run's server CPU. Tool
 * loops and streams still go through generateText and streamText (registry.ts).
 *
 * Retries copy generateText's behaviour, because `toModelError` reads what it throws:
 * - only APICallErrors the provider marked retryable are retried;
 * - the delay starts at 2 s and doubles, unless the upstream's `retry-after-ms` or `retry-after`
 *   header asks for less than a minute (or less than the backoff);
 * - an abort is rethrown at once;
 * - a first non-retryable error is thrown as is. Any other failure ends with a RetryError holding
 *   every attempt's error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FinishReason,
  LanguageModelV3Prompt,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { APICallError, RetryError } from 'ai';
import type { CallSettings } from './parameters.ts';

const INITIAL_DELAY_MS = 2_000;
const BACKOFF_FACTOR = 2;
const MAX_HEADER_DELAY_MS = 60_000;

export interface OneShotRequest {
  model: LanguageModelV3;
  system?: string;
  prompt: string;
  settings: CallSettings;
  providerOptions?: LanguageModelV3CallOptions['providerOptions'];
  maxRetries: number;
  signal: AbortSignal;
}

export interface OneShotResult {
  text: string;
  usage: LanguageModelV3Usage;
  finishReason: LanguageModelV3FinishReason['unified'];
}

export async function generateOnce(request: OneShotRequest): Promise<OneShotResult> {
  const prompt: LanguageModelV3Prompt = request.system ? [{ role: 'system', content: request.system }] : [];
  prompt.push({ role: 'user', content: [{ type: 'text', text: request.prompt }] });
  const options: LanguageModelV3CallOptions = {
    ...request.settings,
    prompt,
    providerOptions: request.providerOptions,
    abortSignal: request.signal,
  };
  const errors: unknown[] = [];
  let backoff = INITIAL_DELAY_MS;
  for (;;) {
    try {
      const result = await request.model.doGenerate(options);
      let text = '';
      for (const part of result.content) if (part.type === 'text') text += part.text;
      return { text, usage: result.usage, finishReason: result.finishReason.unified };
    } catch (error) {
      if (isAbort(error) || request.maxRetries === 0) throw error;
      errors.push(error);
      const message = error instanceof Error ? error.message : String(error);
      if (errors.length > request.maxRetries) {
        throw new RetryError({
          message: `Failed after ${errors.length} attempts. Last error: ${message}`,
          reason: 'maxRetriesExceeded',
          errors,
        });
      }
      if (!(APICallError.isInstance(error) && error.isRetryable)) {
        if (errors.length === 1) throw error;
        throw new RetryError({
          message: `Failed after ${errors.length} attempts with non-retryable error: '${message}'`,
          reason: 'errorNotRetryable',
          errors,
        });
      }
      await sleep(retryDelay(error, backoff), undefined, { signal: request.signal });
      backoff *= BACKOFF_FACTOR;
    }
  }
}

function isAbort(error: unknown): boolean {
  return (
    (error instanceof Error || error instanceof DOMException) &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}

/** The upstream's retry-after-ms / retry-after (seconds or an HTTP date) when sensible, else the backoff. */
function retryDelay(error: APICallError, backoff: number): number {
  const headers = error.responseHeaders;
  if (!headers) return backoff;
  let ms: number | undefined;
  const afterMs = headers['retry-after-ms'];
  if (afterMs) {
    const parsed = Number.parseFloat(afterMs);
    if (!Number.isNaN(parsed)) ms = parsed;
  }
  const after = headers['retry-after'];
  if (after && ms === undefined) {
    const seconds = Number.parseFloat(after);
    ms = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  }
  if (ms !== undefined && !Number.isNaN(ms) && ms >= 0 && (ms < MAX_HEADER_DELAY_MS || ms < backoff))
    return ms;
  return backoff;
}
