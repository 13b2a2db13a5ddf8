import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectEmails } from '../../src/guardrails/detectors/email.ts';
import { ibanChecksumValid } from '../../src/guardrails/detectors/iban.ts';
import { luhnValid } from '../../src/guardrails/detectors/payment-card.ts';
import { NEEDLES } from '../../src/guardrails/detectors/prompt-injection.ts';
import { createUserRegexDetector, REGEX_WINDOW } from '../../src/guardrails/detectors/user-regex.ts';
import { compilePolicy, validatePolicyRules } from '../../src/guardrails/policy.ts';
import { createTextView } from '../../src/guardrails/text-view.ts';

describe('text view', () => {
  test('ASCII text is its own view', () => {
    const view = createTextView('plain text');
    assert.equal(view.text, 'plain text');
    assert.deepEqual(view.toOriginal(2, 5), [2, 5]);
  });

  test('NFKC, dropped format characters and folded homoglyphs map back to original offsets', () => {
    const raw = 'mail ｊａｎｅ@exa\u200bmple.com now';
    const view = createTextView(raw);
    assert.equal(view.text, 'mail jane@example.com now');
    const [m] = detectEmails(view.text);
    const [start, end] = view.toOriginal(m.start, m.end);
    assert.equal(raw.slice(start, end), 'ｊａｎｅ@exa\u200bmple.com');
    assert.equal(createTextView('Ignore рrevious').text, 'Ignore previous', 'Cyrillic р in a Latin word');
    assert.equal(createTextView('привет мир').text, 'привет мир', 'all-Cyrillic words keep their letters');
    assert.equal(createTextView('cafe\u0301').text, 'café', 'combining marks compose');
  });

  test('a redaction in a normalised text covers exactly the original characters', () => {
    const result = validatePolicyRules([{ kind: 'pii', entities: ['email'], action: 'redact' }]);
    assert.ok(result.ok);
    const p = compilePolicy(result.rules);
    assert.equal(p.check('héllo ｊａｎｅ@example.com ✓', 'input').text, 'héllo [REDACTED:email] ✓');
  });
});

describe('checksums', () => {
  test('Luhn', () => {
    assert.ok(luhnValid('4111111111111111'));
    assert.ok(!luhnValid('4111111111111112'));
    assert.ok(luhnValid('378282246310005'));
  });

  test('IBAN mod-97', () => {
    assert.ok(ibanChecksumValid('GB29NWBK60161331926819'));
    assert.ok(!ibanChecksumValid('GB29NWBK60161331926818'));
    assert.ok(ibanChecksumValid('fr1420041010050500013m02606'), 'case-insensitive');
  });
});

describe('user regex windows', () => {
  test('matches anywhere in a long text are found once, including across window edges', () => {
    const detect = createUserRegexDetector('X\\d{3}Y', '', 'code');
    const filler = '.'.repeat(REGEX_WINDOW * 3);
    const positions = [0, REGEX_WINDOW - 600, REGEX_WINDOW - 3, REGEX_WINDOW * 2 - 1030, filler.length - 5];
    let text = filler;
    for (const p of positions) text = `${text.slice(0, p)}X123Y${text.slice(p + 5)}`;
    assert.deepEqual(
      detect(text).map((m) => m.start),
      positions,
    );
  });

  test('zero-length matches do not loop', () => {
    assert.deepEqual(createUserRegexDetector('\\b', '', 'x')('a b'), []);
  });
});

describe('prompt-injection needles', () => {
  test('no needle is a prefix of another (the one-pass needle scan would hide it)', () => {
    const clashes = NEEDLES.filter((a) => NEEDLES.some((b) => b !== a && b.startsWith(a)));
    assert.deepEqual(clashes, []);
  });
});
