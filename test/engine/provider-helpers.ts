/** Shared by the provider tests: a ModelCall with defaults, and small await helpers. */
import assert from 'node:assert/strict';
import type { ModelCall, ModelError, ModelRegistry } from '../../src/engine/providers/index.ts';

export function call(overrides: Partial<ModelCall> & { model: string }): ModelCall {
  return {
    instructions: 'You are a terse analyst.',
    input: { query: 'How did Q1 go?' },
    parameters: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

export async function rejection(promise: Promise<unknown>): Promise<Error & Partial<ModelError>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Partial<ModelError>;
  }
  assert.fail('expected the call to reject');
}

export async function streamed(registry: ModelRegistry, c: ModelCall) {
  const deltas: string[] = [];
  const result = await registry.call({ ...c, onDelta: (d) => deltas.push(d) });
  return { result, deltas };
}
