/**
 * Backtracking insurance for every regular expression the process runs on user text: guardrail
 * `regex` rules, `pattern`s in user JSON Schemas (pipeline input schemas, guardrail json_schema
 * rules), regex literals in JSONata expressions, our own detectors.
 *
 * The static checks (safe-regex2 star height, ambiguous alternation: src/guardrails/regex-safety.ts)
 * catch exponential patterns but not polynomial ones: `^a*a*a*b$` passes both and takes 22 s on
 * 2,000 `a`s (cubic), and windowing text to 8 KiB does not save a cubic pattern. V8 has a linear-
 * time regexp engine; with this flag a regexp that backtracks more than 50,000 times (V8's default
 * `--regexp-backtracks-before-fallback`) is re-run on it, so the same pattern answers 1 MiB in about
 * a second. Patterns that engine cannot run (lookaround, backreferences) keep backtracking: those
 * are what the static checks are still for.
 *
 * A V8 flag is process-wide and must be set before the regexps it should cover are first run;
 * setting it twice is harmless, so both the server and every test app call this at build time.
 */
import v8 from 'node:v8';

export function enableLinearRegexpFallback(): void {
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}
