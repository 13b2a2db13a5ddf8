/**
 * The guardrails module's public surface: validate rules, resolve a policy against the built-in
 * templates, compile it once, then check inputs and outputs (whole, as JSON values, or streamed).
 *
 *   const resolved = resolvePolicy({ extends: 'baseline', rules: [...] });
 *   if (!resolved.ok) → 400 with resolved.param / resolved.message
 *   const policy = compilePolicy(resolved.rules);   // once per policy version, then cache
 *   policy.checkValue(run.input, 'input');          // { blocked, value, hits }
 *   policy.check(outputText, 'output');             // { blocked, text, hits }
 *   const guard = createStreamGuard(policy);        // push(delta) → safe text; end()
 *
 * Pure: no I/O, no clock, no shared state; a compiled policy is safe to share across requests.
 */
export { type CompiledPolicy, type CompiledRule, compilePolicy, type RuleMatch } from './compile.ts';
export { createStreamGuard, type StreamGuard, type StreamGuardOptions } from './stream-guard.ts';
export { builtinTemplates, type PolicyInput, resolvePolicy } from './templates.ts';
export * from './types.ts';
export { POLICY_LIMITS, validatePolicyRules } from './validate.ts';
