/**
 * The model registry's tool loop on its own (no HTTP, no database): what the hooks report, how a
 * failing tool is shown to the model without leaking its internals, usage summed over steps, and
 * that a cancelled call does not wait for a tool that ignores its signal.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type ToolDefinition, ToolError } from '../../src/connectors/tool.ts';
import {
  createModelRegistry,
  type ToolCallInfo,
  type ToolResultInfo,
} from '../../src/engine/providers/index.ts';
import { call, rejection } from '../engine/provider-helpers.ts';

function tool(name: string, execute: ToolDefinition['execute']): ToolDefinition {
  return { name, description: `the ${name} tool`, inputSchema: { type: 'object' }, execute };
}

describe('the tool loop', () => {
  const registry = createModelRegistry({ compatible: {}, maxRetries: 0 });
  before(() => registry.warmUp());

  it('reports each call and result; a ToolError is shown as is, any other throw as a generic tool_failed', async () => {
    const seen: Array<ToolCallInfo | ToolResultInfo> = [];
    const result = await registry.call(
      call({
        model: 'mock/echo',
        input: { query: 'Go' },
        parameters: {
          mock_tool_calls: [
            { tool: 'echo', input: { word: 'hi' } },
            { tool: 'picky', input: {} },
            { tool: 'broken', input: {} },
          ],
        },
        tools: [
          tool('echo', async (input) => ({ echoed: input })),
          tool('picky', async () => {
            throw new ToolError('invalid_input', 'word is required');
          }),
          tool('broken', async () => {
            throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
          }),
        ],
        onToolCall: (c) => seen.push(c),
        onToolResult: (r) => seen.push(r),
      }),
    );
    assert.equal(
      result.text,
      'Mock answer to "Go" using tools: echo returned {"echoed":{"word":"hi"}}; ' +
        'picky failed {"error":{"code":"invalid_input","message":"word is required"}}; ' +
        'broken failed {"error":{"code":"tool_failed","message":"The tool failed unexpectedly"}}.',
    );
    assert.doesNotMatch(result.text, /hunter2|10\.0\.0\.7/);
    const results = seen.filter((s): s is ToolResultInfo => 'duration_ms' in s);
    assert.deepEqual(
      results.map((r) => [r.name, r.output, r.error?.code]),
      [
        ['echo', { echoed: { word: 'hi' } }, undefined],
        ['picky', undefined, 'invalid_input'],
        ['broken', undefined, 'tool_failed'],
      ],
    );
    assert.equal(seen.length, 6);
  });

  it('sums usage over the steps', async () => {
    const params = { mock_tool_calls: [{ tool: 'echo', input: {} }] };
    const tools = [tool('echo', async () => 'ok')];
    const looped = await registry.call(call({ model: 'mock/echo', parameters: params, tools }));
    const reply = await registry.call(call({ model: 'mock/echo', parameters: { mock_reply: looped.text } }));
    // the final step alone would cost what a plain call with the same reply costs
    assert.ok(looped.usage.output_tokens > reply.usage.output_tokens);
    assert.ok(looped.usage.input_tokens > reply.usage.input_tokens);
  });

  it('a cancelled call stops waiting for a tool that ignores its signal', async () => {
    const abort = new AbortController();
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const pending = registry.call(
      call({
        model: 'mock/echo',
        parameters: { mock_tool_calls: [{ tool: 'stuck', input: {} }] },
        signal: abort.signal,
        tools: [
          tool('stuck', () => {
            started();
            return new Promise(() => {});
          }),
        ],
      }),
    );
    await running;
    abort.abort(new Error('cancelled'));
    const error = await rejection(pending);
    assert.equal(error.name, 'AbortError');
  });
});
