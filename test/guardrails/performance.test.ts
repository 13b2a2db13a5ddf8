/**
 * Cost. Prints the per-call figure for the baseline policy on typical 200-character texts (no
 * assertion: timing varies by machine), and checks that no built-in detector has super-linear
 * worst cases: adversarial 100,000-character inputs must finish far below the generous bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  builtinTemplates,
  compilePolicy,
  createStreamGuard,
  resolvePolicy,
} from '../../src/guardrails/policy.ts';

const INPUT =
  'Can you summarise the attached support ticket? The customer says order 2024-118833 arrived late on 2024-06-03, the box was damaged and they want a refund of $49.99. Reply politely, offer a 10% coupon.';
const OUTPUT =
  'Dear customer, thank you for reaching out about order 2024-118833. We are sorry the box arrived damaged on June 3. We have refunded $49.99 to your card, and here is a 10% coupon for your next order: SAVE10.';

function microsPerCall(fn: () => unknown, calls: number): number {
  for (let i = 0; i < calls / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - start) / calls / 1000;
}

test('per-call cost of the built-in templates on ~200-character texts (printed)', () => {
  console.log(`  input ${INPUT.length} chars, output ${OUTPUT.length} chars`);
  for (const name of ['baseline', 'pii-redact', 'strict'] as const) {
    const policy = compilePolicy(builtinTemplates[name].rules);
    const input = microsPerCall(() => policy.check(INPUT, 'input'), 50_000);
    const output = microsPerCall(() => policy.check(OUTPUT, 'output'), 50_000);
    const value = microsPerCall(() => policy.checkValue({ query: INPUT }, 'input'), 50_000);
    console.log(
      `  ${name.padEnd(10)} check(input) ${input.toFixed(2)} µs · check(output) ${output.toFixed(2)} µs · checkValue({query}) ${value.toFixed(2)} µs`,
    );
  }
  const baseline = compilePolicy(builtinTemplates.baseline.rules);
  const streamed = microsPerCall(() => {
    const guard = createStreamGuard(baseline);
    for (let i = 0; i < OUTPUT.length; i += 4) guard.push(OUTPUT.slice(i, i + 4));
    guard.end();
  }, 5_000);
  console.log(`  baseline stream guard, 4-char deltas: ${streamed.toFixed(1)} µs per 200-char output`);
  assert.equal(baseline.check(INPUT, 'input').blocked, null);
});

test('adversarial 100k-character inputs stay linear', () => {
  const resolved = resolvePolicy({
    extends: 'pii-redact',
    rules: [
      { kind: 'blocked_terms', terms: ['falcon', 'secret sauce', 'a a a a b'], action: 'redact' },
      { kind: 'prompt_injection', action: 'flag', apply_to: 'output', name: 'injection-out' },
      { name: 'max_output_chars', kind: 'max_output_chars', limit: 1_000_000, action: 'block' },
    ],
  });
  assert.ok(resolved.ok);
  const policy = compilePolicy(resolved.rules);
  const n = 100_000;
  const inputs: Record<string, string> = {
    letters: 'a'.repeat(n),
    digits: '1'.repeat(n),
    'spaced digits': '1 '.repeat(n / 2),
    'dashed digits': '12-'.repeat(n / 3),
    'at signs': 'a@'.repeat(n / 2),
    'dotted email-ish': 'a.'.repeat(n / 2) + '@',
    'sk- prefix': `sk-${'a'.repeat(n)}`,
    'jwt-ish': `eyJ${'a'.repeat(n)}`,
    'open pem': `-----BEGIN PRIVATE KEY-----${' AAAA'.repeat(n / 5)}`,
    'pem headers': '-----BEGIN PRIVATE KEY-----\n'.repeat(n / 28),
    colons: 'a:'.repeat(n / 2),
    dots: '1.'.repeat(n / 2),
    'iban-ish': `DE89${' 3704'.repeat(n / 5)}`,
    'ignore ignore': 'ignore '.repeat(n / 7),
    'spaced letters': 'i g n o r e '.repeat(n / 12),
    base64: 'QUJD'.repeat(n / 4),
    leet: 'a1b3c4 '.repeat(n / 7),
    'a a a': 'a '.repeat(n / 2),
    'full-width': 'ｆａｌｃｏｎ'.repeat(n / 6),
    'zero-width': 'a\u200b'.repeat(n / 2),
    'phone-ish': '+1 (415) 555-'.repeat(n / 13),
  };
  for (const [name, text] of Object.entries(inputs)) {
    const start = performance.now();
    const result = policy.check(text, 'output');
    const ms = performance.now() - start;
    assert.equal(result.blocked, null);
    assert.ok(ms < 2_000, `${name}: ${ms.toFixed(0)} ms`);
    if (ms > 50) console.log(`  slowest adversarial case: ${name} took ${ms.toFixed(0)} ms`);
  }
});
