/**
 * The shell blocks of a Markdown file, in order: every ```sh / ```bash fence, with the markers
 * written as HTML comments on the lines directly above it:
 *   <!-- not-run: <why> -->   the block is shown, never executed (it starts a server, waits forever…)
 *   <!-- prints: <text> -->   the block's output must contain <text> (repeatable); a block with
 *                             such a marker may show HTTP errors, it is judged by what it prints
 * Other fences (```text, ```console, ```json, ``` with no language) are not shell blocks.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

export interface ShellBlock {
  /** 1-based position among the file's shell blocks, counting not-run ones */
  number: number;
  /** 1-based line of the opening fence */
  line: number;
  code: string;
  notRun: string | null;
  prints: string[];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;
const MARKER = /^\s*<!--\s*(not-run|prints):\s*(.*?)\s*-->\s*$/;

export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j].trimStart();
      if (close.startsWith(fence[0].repeat(fence.length)) && close.replace(/[`~]/g, '').trim() === '') break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    if (lang === 'sh' || lang === 'bash') {
      let notRun: string | null = null;
      const prints: string[] = [];
      for (let k = i - 1; k >= 0; k--) {
        const m = MARKER.exec(lines[k]);
        if (!m) break;
        if (m[1] === 'not-run') notRun = m[2] || 'marked not-run';
        else prints.unshift(m[2]);
      }
      blocks.push({ number: blocks.length + 1, line: i + 1, code: body.join('\n'), notRun, prints });
    }
    i = j;
  }
  return blocks;
}

/** README.md and every docs/*.md, README first, then the pages by name. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => path.join('docs', f));
  return ['README.md', ...docs];
}
