/**
 * The bounded BPE (src/engine/providers/bpe.ts) must count exactly what js-tiktoken's `encode`
 * counts for every text whose pieces fit a window — which is every real text — and stay linear
 * on the inputs that made `encode` quadratic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import ranks from 'js-tiktoken/ranks/o200k_base';
import { buildTable, countChunks, countSync } from '../../src/engine/providers/bpe.ts';

const table = buildTable(ranks);
const reference = new Tiktoken(ranks);
const exact = (text: string) => reference.encode(text, [], []).length;

describe('bounded BPE', () => {
  it('counts like js-tiktoken on prose, code, unicode and special-token text', () => {
    const samples = [
      'Summarize Q1 revenue drivers',
      'Grüße aus Köln — 日本語のテキストです。 Привет, мир! 🎉🎉 <|endoftext|> done',
      'function f(x) {\n  return x ** 2; // square\n}\n\n\n   trailing   ',
      "I'm sure they've said it's fine, WE'LL see; don't  worry.",
      '1234567890 3.14159 0xDEADBEEF 2026-12-06T21:00:00Z',
      'A'.repeat(3000),
      'ab'.repeat(1500),
      '\u0301'.repeat(200) + 'é'.repeat(200),
    ];
    for (const text of samples) assert.equal(countSync(text, table), exact(text), text.slice(0, 40));
  });

  it('counts like js-tiktoken on random strings (property)', () => {
    const alphabet = fc.constantFrom(...'aAbB zZ09\n\t.,!?\'"-_/éß日本🎉\u0301'.split(''));
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 300 }),
        (text) => countSync(text, table) === exact(text),
      ),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        (text) => countSync(text, table) === exact(text),
      ),
      { numRuns: 300 },
    );
  });

  it('the sliced (yielding) count equals the synchronous one', async () => {
    const text = `${'word '.repeat(5000)}${'A'.repeat(20_000)} ${'日本語'.repeat(3000)}`;
    let pauses = 0;
    const sliced = await countChunks(text, table, 1000, async () => {
      pauses++;
    });
    assert.equal(sliced, countSync(text, table));
    assert.ok(pauses > 20, `paused ${pauses} times`);
  });
});
