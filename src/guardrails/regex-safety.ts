/**
 * Static checks that keep policy authors' regular expressions off V8's exponential paths. V8 has
 * no match timeout, so a pattern that backtracks catastrophically stalls the whole process.
 *
 * 1. safe-regex2: no nested quantifiers (star height ≤ 1), e.g. `(a+)+`. It parses with `ret`,
 *    which does not know lookbehind; lookbehind has the same star height as lookahead, so the
 *    pattern is checked with `(?<=`/`(?<!` rewritten to `(?=`/`(?!`.
 * 2. Ours: alternation under a repetition, the case star height misses: `(a|a)*`, `(\w|\d)+`,
 *    `(ab|a)*` backtrack exponentially when branches can match the same text. We accept a repeated
 *    alternation only when every branch is a plain literal and no two branches start with the same
 *    character (case-folded with the `i` flag) — then at most one branch can match at any point.
 *    Conservative: `(cat|dog)+` passes, `(\d|x)+` is refused.
 */
import safeRegex from 'safe-regex2';

interface Group {
  branches: string[][];
  quantified: boolean;
  children: Group[];
}

const META = new Set(['.', '[', ']', '(', ')', '{', '}', '*', '+', '?', '|', '^', '$', '\\']);
const QUANTIFIER = /^(?:[*+]|\{\d+,\d*\}|\{\d+\})/;

/** Splits a pattern into groups; each branch is a list of atoms (raw text of one element). */
function parse(pattern: string): Group {
  const root: Group = { branches: [[]], quantified: false, children: [] };
  const stack: Group[] = [root];
  let i = 0;
  while (i < pattern.length) {
    const group = stack[stack.length - 1];
    const branch = group.branches[group.branches.length - 1];
    const ch = pattern[i];
    if (ch === '\\') {
      branch.push(pattern.slice(i, i + 2));
      i += 2;
    } else if (ch === '[') {
      let j = i + 1;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      branch.push(pattern.slice(i, j + 1));
      i = j + 1;
    } else if (ch === '(') {
      const child: Group = { branches: [[]], quantified: false, children: [] };
      group.children.push(child);
      branch.push('(group)');
      stack.push(child);
      const prefix = /^\(\?(?:<?[=!]|:|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i));
      i += prefix ? prefix[0].length : 1;
    } else if (ch === ')') {
      const closed = stack.pop()!;
      const q = QUANTIFIER.exec(pattern.slice(i + 1));
      closed.quantified = q !== null && q[0] !== '{0}' && q[0] !== '{1}' && !/^\{[01],[01]\}$/.test(q[0]);
      i++;
      if (stack.length === 0) return root; // unbalanced; RegExp compilation reports it
    } else if (ch === '|') {
      group.branches.push([]);
      i++;
    } else {
      branch.push(ch);
      i++;
    }
  }
  return root;
}

function literalBranch(atoms: string[]): string | null {
  let out = '';
  for (const a of atoms) {
    if (a.length === 1 && !META.has(a)) out += a;
    else if (a.length === 2 && a[0] === '\\' && /[^\w\s]/.test(a[1])) out += a[1];
    else return null;
  }
  return out;
}

function ambiguousUnderRepeat(group: Group, repeated: boolean, ignoreCase: boolean): boolean {
  const underRepeat = repeated || group.quantified;
  if (underRepeat && group.branches.length > 1) {
    const firsts = new Set<string>();
    for (const atoms of group.branches) {
      const literal = literalBranch(atoms);
      if (!literal) return true;
      const first = ignoreCase ? literal[0].toLowerCase() : literal[0];
      if (firsts.has(first)) return true;
      firsts.add(first);
    }
  }
  return group.children.some((c) => ambiguousUnderRepeat(c, underRepeat, ignoreCase));
}

export type RegexVerdict = { safe: true } | { safe: false; reason: string };

export function checkRegexSafety(pattern: string, flags = ''): RegexVerdict {
  if (!safeRegex(pattern.replace(/\(\?<([=!])/g, '(?$1'))) {
    return {
      safe: false,
      reason:
        'may backtrack catastrophically (a repeated group that itself contains a repetition, e.g. (a+)+); rewrite it without nested quantifiers',
    };
  }
  if (ambiguousUnderRepeat(parse(pattern), false, flags.includes('i'))) {
    return {
      safe: false,
      reason:
        'may backtrack catastrophically (alternatives inside a repeated group that can match the same text, e.g. (a|ab)*); inside a repetition use only plain words that start with different characters, or a character class',
    };
  }
  return { safe: true };
}
