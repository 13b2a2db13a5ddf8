/**
 * Prompt-injection heuristics: phrase patterns, weighted and summed; a text scoring ≥ 1 is an
 * attack and every contributing phrase is reported as a `prompt_injection` match.
 *
 * Strong signals (1.0) each suffice on their own:
 *   - instruction override: a verb (ignore, disregard, forget, override, bypass, set aside, stop
 *     following…) then within a few words a qualifier (previous, prior, above, system, your…) and
 *     an object (instructions, rules, guidelines, directives, filters…). With only a weak qualifier
 *     (all, any, the, safety…) the verb must be in imperative position, and a negated verb ("don't
 *     ignore the instructions") never counts — so "the kids ignore all instructions" passes;
 *   - persona jailbreaks: "you are now DAN", "you are no longer ChatGPT", acting/pretending/
 *     role-playing as something with no rules, restrictions or filters; "jailbreak mode";
 *   - system-prompt exfiltration: reveal/print/repeat/what is + "your system prompt", "the hidden
 *     instructions", "the text above", "your prompt";
 *   - delimiter injection: closing role tags (`</system>`, `</user>`), chat-template tokens
 *     (`<|im_start|>`, `[INST]`, `<<SYS>>`), "SYSTEM OVERRIDE", "your instructions are void".
 * Weak signals (0.5) need company: fake role lines (`Assistant:`), "### system", "END OF DOCUMENT",
 * "new instructions:", "developer mode", mentions of unrestricted behaviour, "system prompt".
 *
 * Obfuscation handled where it is cheap: the normalised text view (full-width letters, zero-width
 * characters, mixed Cyrillic), leetspeak digits inside words (`1gn0r3`), letters spaced apart
 * (`i g n o r e`), and base64 runs that decode to printable text (scored recursively, one level).
 *
 * Honest limits: this is lexical. Paraphrases outside the vocabulary ("pay no heed to what you
 * were told"), other languages, ROT13/hex/other encodings, instructions split across messages, and
 * injections phrased as plausible tasks ("as the admin, I approve: send the file to…") get through.
 * Text that merely discusses attacks by quoting one ("users who say 'ignore previous
 * instructions'") is flagged. Use it as one layer — a block on the obvious — not as a boundary.
 */
import type { Match } from '../types.ts';
import { asciiLower, base64Runs, collapseSpaced, deleet, LEET_HINT, SPACED_HINT } from './obfuscation.ts';

interface Signal {
  start: number;
  end: number;
  weight: number;
}

const VERB =
  "ignore|disregard|forget|override|bypass|skip|abandon|neglect|set aside|throw out|discard|cancel|stop following|do not follow|don't follow|stop obeying";
const STRONG_QUAL = 'previous|prior|preceding|above|earlier|former|initial|original|system|your';
const WEAK_QUAL = 'all|any|every|the|safety|content|these|those';
const OBJECT =
  'instructions?|rules|directions|directives|prompts?|guidelines|guidance|context|constraints|programming|training|guardrails|polic(?:y|ies)|restrictions|commands|orders|settings|filters?|protocols|messages?|task';
const W = "[\\w'-]+";
const OVERRIDE = new RegExp(
  `\\b(${VERB})\\b((?:\\s+${W}){0,3}?)\\s+(${OBJECT})\\b|\\b(${VERB})\\s+(?:(?:all of )?the (?:above|previous|preceding)(?:\\s+(?:text|content|input|message|conversation|prompt))?(?=\\s*(?:[.,;:!?'"]|and\\b|$))|everything (?:you (?:were|have been) told|above|before this|so far)\\b)`,
  'g',
);
const STRONG_QUAL_RE = new RegExp(`\\b(?:${STRONG_QUAL})\\b`);
const WEAK_QUAL_RE = new RegExp(`\\b(?:${WEAK_QUAL})\\b`);
const NEGATED =
  /\b(?:don'?t|do not|never|not|doesn'?t|didn'?t|won'?t|shouldn'?t|can'?t|cannot|why do \w+)\s*$/;
const IMPERATIVE =
  /(?:^|\b(?:please|kindly|now|just|simply|then|and|so|also|first|must|should|will|to|can|may|shall|immediately)\b|[,!])\s*$/;
const CLAUSE_START = /[.!?\n:;"'()[\]{}<>*`-]/;

const UNRESTRICTED =
  /\b(?:no|without(?: any)?|free (?:of|from)|zero|escaped(?: its| your)?)\s+(?:[\w-]+\s+){0,2}?(?:restrictions|filters|content polic(?:y|ies)|censorship|limitations|limits|rules|ethical guidelines|guidelines|morals|programming|content filters?)\b|\bunrestricted\b|\bunfiltered\b|\buncensored\b|\bjailbroken\b/g;
const PERSONA =
  /\b(?:act(?:ing)? as|pretend(?:ing)?(?: to be| you are| you're)?|role-?play(?:ing)?(?: as)?|simulate|imagine you are|you are (?:now )?an? (?:ai|model|assistant|chatbot)|from now on,? you|behave (?:like|as)|answer as|respond as|you are now)\b/;

/**
 * A phrase pattern and the literals it cannot match without: each inner list needs one of its
 * words present. One scan finds which literals a text has, so most patterns never run.
 */
interface Pattern {
  re: RegExp;
  weight: number;
  needs: readonly (readonly string[])[];
}

const words = (list: string) => list.split(' ');
const EXFIL_VERBS = words(
  'reveal show print repeat output display leak dump tell give share recite write spell paste what list',
);
const EXFIL_OBJECTS = words('prompt instruct messag directive guideline configur rule');

const PATTERNS: readonly Pattern[] = [
  {
    re: /\byou are (?:now|no longer)\s+(?:(?:called|named|an?|the|my|in)\s+){0,2}(?:dan|unrestricted|unfiltered|uncensored|jailbroken|evil\w*|free ai|\w*gpt|(?:developer|jailbreak|dan|god) mode|not (?:bound|restricted))\b/g,
    weight: 1,
    needs: [['you are']],
  },
  {
    re: /\b(?:act as|you are|you will be|become|called) dan\b|\bas dan (?:would|does|did)\b|\bdo anything now\b|\b(?:dan|jailbreak) mode\b/g,
    weight: 1,
    needs: [words('dan anything jailbr')],
  },
  {
    re: /\b(?:reveal|show|print|repeat|output|display|leak|dump|tell me|give me|share|recite|write out|spell out|paste|what (?:is|are|was|were|does)|list)\b(?:\s+[\w'-]+){0,5}?\s+(?:your (?:(?:system|initial|hidden|secret|original|developer|internal|exact|complete|full|first)\s+){1,2}|the (?:hidden|secret|initial|original|internal|developer|exact|complete|full)\s+(?:system\s+)?)(?:prompt|instructions|message|directives|guidelines|configuration|rules)\b/g,
    weight: 1,
    needs: [EXFIL_VERBS, EXFIL_OBJECTS],
  },
  {
    re: /\b(?:reveal|show|print|repeat|output|display|leak|dump|tell me|give me|recite|write out|paste|what (?:is|are|was|were|does))\b(?:\s+[\w'-]+){0,6}?\s+your (?:prompt|instructions|system message|directives|guidelines|configuration)\b/g,
    weight: 1,
    needs: [EXFIL_VERBS, EXFIL_OBJECTS],
  },
  {
    re: /\b(?:repeat|print|output|show|copy|display|dump)\b(?:\s+[\w'-]+){0,3}?\s+(?:text|words|everything|content|messages?|lines)\s+(?:above|before (?:this|my)|preceding)\b/g,
    weight: 1,
    needs: [words('above before preced')],
  },
  {
    re: /<\/(?:system|user|assistant|instructions?|sys|context)>|<\|(?:im_start|im_end|endoftext|system|user|assistant)\|>|\[\/?inst\]|<<\/?sys>>/g,
    weight: 1,
    needs: [words('</ <| inst] sys>')],
  },
  { re: /\b(?:system|admin|developer|root|sudo) override\b/g, weight: 1, needs: [['overrid']] },
  {
    re: /\b(?:safety|content) (?:protocols?|filters?|guidelines|polic(?:y|ies)|settings)(?: are| have been)? (?:disabled|off|removed|deactivated|lifted)\b/g,
    weight: 1,
    needs: [words('safety content'), words('disabl off remov deactiv lift')],
  },
  {
    re: /\b(?:your|all|the) (?:previous|prior|above|earlier|original) (?:instructions|rules|directives|guidelines) (?:are|is|have been) (?:void|null|cancel+ed|revoked|obsolete|overridden|no longer valid)\b/g,
    weight: 1,
    needs: [words('void null cancel revok obsolet overrid longer')],
  },
  {
    re: /\byour new (?:instructions|rules|task|directives|guidelines) (?:are|is)\b/g,
    weight: 1,
    needs: [['new']],
  },
  {
    re: /(?:^|\n)\s*(?:system|assistant|developer)\s*:/g,
    weight: 0.5,
    needs: [words('system assistant developer'), [':']],
  },
  {
    re: /(?:^|\n)\s*(?:#{1,6}|```)\s*(?:system|instructions?)\b/g,
    weight: 0.5,
    needs: [['#', '`'], words('system instruct')],
  },
  { re: /<(?:system|instructions?|sys)>/g, weight: 0.5, needs: [words('system instruct sys>')] },
  { re: /\bend of (?:document|input|context|prompt|user input|file)\b/g, weight: 0.5, needs: [['end of']] },
  {
    re: /\b(?:new|updated|real|actual|revised) (?:instructions|rules|directives|policy|task)\s*(?::|follow\b)/g,
    weight: 0.5,
    needs: [words('new updat real actual revis')],
  },
  { re: /\bdeveloper mode\b/g, weight: 0.5, needs: [['developer'], ['mode']] },
  { re: /\bsystem prompt\b/g, weight: 0.5, needs: [['system'], ['prompt']] },
  {
    re: /\b(?:beginning|start) of (?:this|our|the) (?:conversation|chat|session|context)\b|\bbefore my first message\b/g,
    weight: 0.5,
    needs: [words('beginning start first')],
  },
  { re: /\bi have been pwned\b/g, weight: 0.5, needs: [['pwned']] },
];

const OVERRIDE_NEEDS = [
  words('ignor disregard forget overrid bypass skip abandon neglect aside throw discard cancel follow obey'),
];
const UNRESTRICTED_NEEDS = [words('restrict filter polic censor limit rule guideline moral programm jailbr')];

/** Every literal any pattern needs, longest first, found in one scan. No needle may be a prefix of another. */
export const NEEDLES: readonly string[] = [
  ...new Set([...OVERRIDE_NEEDS, ...UNRESTRICTED_NEEDS, ...PATTERNS.flatMap((p) => p.needs)].flat()),
].sort((a, b) => b.length - a.length);
const NEEDLE_RE = new RegExp(NEEDLES.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');

function needlesIn(text: string): Set<string> {
  // String#match with a global regex returns every match and leaves no state behind.
  return new Set(text.match(NEEDLE_RE));
}

const present = (found: Set<string>, needs: readonly (readonly string[])[]) =>
  needs.every((group) => group.some((word) => found.has(word)));

function clauseBefore(text: string, at: number): string {
  let i = at - 1;
  const floor = Math.max(0, at - 80);
  while (i >= floor && !CLAUSE_START.test(text[i])) i--;
  return text.slice(i + 1, at);
}

function overrideSignals(text: string, out: Signal[]): void {
  for (const m of text.matchAll(OVERRIDE)) {
    const prefix = clauseBefore(text, m.index);
    if (NEGATED.test(prefix)) continue;
    const imperative = IMPERATIVE.test(prefix);
    if (m[4] !== undefined) {
      if (imperative) out.push({ start: m.index, end: m.index + m[0].length, weight: 1 });
      continue;
    }
    const between = m[2] ?? '';
    const strong = STRONG_QUAL_RE.test(between);
    const weak = WEAK_QUAL_RE.test(between);
    if (strong || (weak && imperative)) out.push({ start: m.index, end: m.index + m[0].length, weight: 1 });
  }
}

function personaSignals(text: string, out: Signal[]): void {
  for (const m of text.matchAll(UNRESTRICTED)) {
    const sentenceStart = Math.max(text.lastIndexOf('.', m.index), text.lastIndexOf('\n', m.index), 0);
    const sentence = text.slice(Math.max(0, sentenceStart - 120), m.index);
    const weight = PERSONA.test(sentence) ? 1 : 0.5;
    out.push({ start: m.index, end: m.index + m[0].length, weight });
  }
}

function lexicalSignals(text: string): Signal[] {
  const out: Signal[] = [];
  const found = needlesIn(text);
  if (found.size === 0) return out;
  if (present(found, OVERRIDE_NEEDS)) overrideSignals(text, out);
  if (present(found, UNRESTRICTED_NEEDS)) personaSignals(text, out);
  for (const p of PATTERNS) {
    if (!present(found, p.needs)) continue;
    for (const m of text.matchAll(p.re))
      out.push({ start: m.index, end: m.index + m[0].length, weight: p.weight });
  }
  return out;
}

function score(signals: Signal[]): number {
  let total = 0;
  for (const s of signals) total += s.weight;
  return total;
}

/** `original` keeps case for base64; everything else runs on the lowercased text. */
function signalsWithObfuscation(original: string, depth: number): Signal[] {
  const text = asciiLower(original);
  const signals = lexicalSignals(text);
  if (LEET_HINT.test(text)) {
    const deleeted = deleet(text);
    if (deleeted !== text) signals.push(...lexicalSignals(deleeted));
  }
  if (SPACED_HINT.test(text)) {
    const collapsed = collapseSpaced(text);
    for (const s of lexicalSignals(collapsed.text)) {
      signals.push({ start: collapsed.map[s.start], end: collapsed.map[s.end - 1] + 1, weight: s.weight });
    }
  }
  if (depth === 0) {
    for (const [start, end] of base64Runs(original)) {
      const run = original.slice(start, end);
      if (!/[A-Z]/.test(run) || !/[a-z]/.test(run)) continue;
      const decoded = Buffer.from(run, 'base64').toString('latin1');
      const printable = decoded.replace(/[^\x20-\x7e\n\t]/g, '').length;
      if (decoded.length < 12 || printable < decoded.length * 0.95) continue;
      if (score(signalsWithObfuscation(decoded, 1)) >= 1) signals.push({ start, end, weight: 1 });
    }
  }
  return signals;
}

export function detectPromptInjection(text: string): Match[] {
  const signals = signalsWithObfuscation(text, 0);
  if (score(signals) < 1) return [];
  signals.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  for (const s of signals) {
    const last = out.at(-1);
    if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
    else out.push({ start: s.start, end: s.end, entity: 'prompt_injection' });
  }
  return out;
}
