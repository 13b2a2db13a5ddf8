/** The docs test's own machinery: which fences are shell blocks, and how a session judges them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openBashSession } from './bash-session.ts';
import { shellBlocks } from './markdown-blocks.ts';

const page = [
  '# Page',
  '```sh',
  'A=1',
  '```',
  '<!-- not-run: starts a server -->',
  '```bash',
  'npm start',
  '```',
  '```text',
  'not a command',
  '```',
  '```',
  'no language',
  '```',
  '```console',
  '$ echo hi',
  '```',
  '<!-- prints: 201 -->',
  '<!-- prints: "ok":true -->',
  '```sh',
  'echo 201',
  '```',
  '- a list item',
  '  ```sh',
  '  echo indented',
  '  ```',
  '````md',
  '```sh',
  'inside another fence',
  '```',
  '````',
].join('\n');

describe('shell blocks of a Markdown page', () => {
  test('only sh and bash fences, numbered in order, with their markers and lines', () => {
    const blocks = shellBlocks(page);
    assert.deepEqual(
      blocks.map((b) => [b.number, b.line, b.code, b.notRun, b.prints]),
      [
        [1, 2, 'A=1', null, []],
        [2, 6, 'npm start', 'starts a server', []],
        [3, 20, 'echo 201', null, ['201', '"ok":true']],
        [4, 24, 'echo indented', null, []],
      ],
    );
  });
});

describe('a bash session runs blocks as one terminal would', () => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

  test('variables and functions carry from block to block', async () => {
    const s = openBashSession({ cwd: '/', env });
    try {
      assert.equal((await s.run('X=42; f() { echo "f$1"; }', true)).code, 0);
      const r = await s.run('echo "x=$X"; f 7', true);
      assert.equal(r.code, 0);
      assert.equal(r.output, 'x=42\nf7\n');
    } finally {
      await s.close();
    }
  });

  test('a failing command in the middle of a block fails it, with the output so far', async () => {
    const s = openBashSession({ cwd: '/', env });
    try {
      const r = await s.run('echo before\nfalse\necho after', true);
      assert.equal(r.code, 1);
      assert.equal(r.output, 'before\n');
      assert.notEqual((await s.run('echo later', true)).code, 0, 'the session has ended');
    } finally {
      await s.close();
    }
  });

  test('a failing first command of a pipe fails the block', async () => {
    const s = openBashSession({ cwd: '/', env });
    try {
      assert.equal((await s.run('exit_3() { return 3; }; exit_3 | cat', true)).code, 3);
    } finally {
      await s.close();
    }
  });

  test('a block that does not end is killed at the time limit', async () => {
    const s = openBashSession({ cwd: '/', env, timeoutMs: 300 });
    try {
      const r = await s.run('echo started; sleep 600', true);
      assert.equal(r.code, null);
      assert.match(r.output, /^started\n/);
    } finally {
      await s.close();
    }
  });
});
