/**
 * Precision and recall of each detector on the labelled corpora. Prints a table; asserts recall
 * ≥ 0.95 on positives and at most 1 % of clean sentences flagged. Detectors run on the normalised
 * text view, exactly as a compiled policy runs them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectPromptInjection, piiDetectors } from '../../src/guardrails/detectors/index.ts';
import { createTextView } from '../../src/guardrails/text-view.ts';
import { type Detector, type Match, PII_ENTITIES } from '../../src/guardrails/types.ts';
import { cleanSentences } from './corpus/clean.ts';
import { benignPrompts, injectionAttacks } from './corpus/injection.ts';
import { piiPositives } from './corpus/pii-positives.ts';

function run(detector: Detector, text: string): Match[] {
  const view = createTextView(text);
  return detector(view.text).map((m) => {
    const [start, end] = view.toOriginal(m.start, m.end);
    return { start, end, entity: m.entity };
  });
}

interface Row {
  detector: string;
  positives: number;
  recall: number;
  precision: number;
  cleanFlagged: number;
  cleanRate: number;
}

const rows: Row[] = [];
const verbose = process.env.GUARDRAILS_CORPUS_VERBOSE === '1';

for (const entity of PII_ENTITIES) {
  test(`${entity} detector: recall ≥ 0.95, ≤ 1 % of clean sentences flagged`, () => {
    const detector = piiDetectors[entity];
    let tp = 0;
    let fp = 0;
    const misses: string[] = [];
    for (const p of piiPositives[entity]) {
      const found = run(detector, p.text);
      const exact = found.filter((m) => m.start === p.start && m.end === p.end);
      if (exact.length > 0) tp++;
      else misses.push(`${p.text}  → ${JSON.stringify(found.map((m) => p.text.slice(m.start, m.end)))}`);
      fp += found.length - exact.length;
    }
    const flagged = cleanSentences.filter((s) => run(detector, s).length > 0);
    fp += flagged.length;
    const n = piiPositives[entity].length;
    rows.push({
      detector: entity,
      positives: n,
      recall: tp / n,
      precision: tp / (tp + fp),
      cleanFlagged: flagged.length,
      cleanRate: flagged.length / cleanSentences.length,
    });
    if (verbose || misses.length > 0 || flagged.length > 0) {
      for (const m of misses) console.log(`  ${entity} miss: ${m}`);
      for (const s of flagged) console.log(`  ${entity} flags clean: ${s}`);
    }
    assert.ok(n >= 30, `${entity}: at least 30 positives`);
    assert.ok(tp / n >= 0.95, `${entity}: recall ${tp}/${n}`);
    assert.ok(flagged.length / cleanSentences.length <= 0.01, `${entity}: ${flagged.length} clean flagged`);
  });
}

test('prompt_injection detector: recall ≥ 0.95, ≤ 1 % of benign prompts flagged', () => {
  const caught = injectionAttacks.filter((a) => run(detectPromptInjection, a).length > 0);
  const missed = injectionAttacks.filter((a) => !caught.includes(a));
  const benignFlagged = benignPrompts.filter((b) => run(detectPromptInjection, b).length > 0);
  const cleanFlagged = cleanSentences.filter((s) => run(detectPromptInjection, s).length > 0);
  for (const m of missed) console.log(`  prompt_injection miss: ${JSON.stringify(m)}`);
  for (const b of [...benignFlagged, ...cleanFlagged]) console.log(`  prompt_injection flags benign: ${b}`);
  const negatives = benignPrompts.length + cleanSentences.length;
  const fp = benignFlagged.length + cleanFlagged.length;
  rows.push({
    detector: 'prompt_injection',
    positives: injectionAttacks.length,
    recall: caught.length / injectionAttacks.length,
    precision: caught.length / (caught.length + fp),
    cleanFlagged: fp,
    cleanRate: fp / negatives,
  });
  assert.ok(injectionAttacks.length >= 40 && benignPrompts.length >= 100);
  assert.ok(
    caught.length / injectionAttacks.length >= 0.95,
    `recall ${caught.length}/${injectionAttacks.length}`,
  );
  assert.ok(
    benignFlagged.length / benignPrompts.length <= 0.01,
    `${benignFlagged.length} benign prompts flagged`,
  );
  assert.ok(
    cleanFlagged.length / cleanSentences.length <= 0.01,
    `${cleanFlagged.length} clean sentences flagged`,
  );
});

test("detectors rarely fire on the other entities' positives", () => {
  // Expected overlap: a token in a URL's userinfo (`https://ghp_…@github.com`) is also email-shaped.
  const confusions: string[] = [];
  let checked = 0;
  for (const detector of PII_ENTITIES) {
    for (const entity of PII_ENTITIES) {
      if (detector === entity) continue;
      for (const p of piiPositives[entity]) {
        checked++;
        for (const m of run(piiDetectors[detector], p.text)) {
          confusions.push(`${detector} on ${entity}: ${JSON.stringify(p.text.slice(m.start, m.end))}`);
        }
      }
    }
  }
  for (const c of confusions) console.log(`  cross-entity: ${c}`);
  assert.ok(confusions.length / checked <= 0.01, `${confusions.length} of ${checked}`);
});

test('corpus figures', () => {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(
    `\n  clean corpus: ${cleanSentences.length} sentences; benign prompts: ${benignPrompts.length}`,
  );
  console.log('  detector          positives  recall   precision  clean flagged');
  for (const r of rows) {
    console.log(
      `  ${r.detector.padEnd(17)} ${String(r.positives).padStart(9)}  ${pct(r.recall).padStart(6)}  ${pct(r.precision).padStart(9)}  ${r.cleanFlagged} (${pct(r.cleanRate)})`,
    );
  }
  assert.ok(rows.length > 0);
});
