/**
 * Output guardrails for one run, as the executor uses them: deltas of a streamed run go through the
 * stream guard (nothing emitted that an output rule would block or redact), and the final text is
 * checked whole before it is stored. The stored verdict is the whole-text check's (the stream
 * guard's property tests hold it to the same redactions); a block seen by either fails the run.
 */
import type { CompiledPolicy } from './compile.ts';
import { mergeHits } from './service.ts';
import { createStreamGuard } from './stream-guard.ts';
import type { Blocked, Hit } from './types.ts';

export interface OutputVerdict {
  /** what a streamed run still has to emit (the guard's held-back tail), '' when nothing */
  tail: string;
  blocked: Blocked | null;
  /** the output to store, redactions applied */
  text: string;
  /** the run's `guardrail_hits` (input and output merged); undefined: unchanged */
  hits: string | null | undefined;
}

export interface OutputGuard {
  /** a streamed delta → the text safe to emit now ('' = hold it back) */
  push(delta: string): string;
  end(text: string): OutputVerdict;
}

export function createOutputGuard(
  policy: CompiledPolicy | null,
  stream: boolean,
  inputHits: string | null | undefined,
): OutputGuard {
  if (!policy) {
    return { push: (delta) => delta, end: (text) => ({ tail: '', blocked: null, text, hits: undefined }) };
  }
  const guard = stream ? createStreamGuard(policy) : null;
  return {
    push: (delta) => (guard ? guard.push(delta) : delta),
    end(text) {
      const streamed = guard?.end();
      const checked = policy.check(text, 'output');
      const blocked = checked.blocked ?? streamed?.blocked ?? null;
      const before: Hit[] = inputHits ? JSON.parse(inputHits) : [];
      const hits = mergeHits(before, checked.hits);
      return {
        tail: blocked ? '' : (streamed?.text ?? ''),
        blocked,
        text: checked.text,
        hits: hits.length ? JSON.stringify(hits) : null,
      };
    },
  };
}
