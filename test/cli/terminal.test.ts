/**
 * The CLI in a real terminal (tmux): tokens of a streamed run show up while the run is still
 * running, `deploy --wait` prints its validation as it happens, the login key is typed without
 * echo, colours and a sparkline appear on a terminal and colours go with NO_COLOR. The pane is read
 * with `capture-pane` until what a user would see is there (bounded), which is how a person reads it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Airmy from '../../sdk/typescript/index.ts';
import { type LiveServer, startLiveServer } from '../../sdk/typescript/test/live-server.ts';
import { CLI_MAIN, cliRunner } from '../support/airmy-cli.ts';

const ESC = String.fromCharCode(27);
const SOCKET = `airmy-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

let sessions = 0;
function terminal(env: Record<string, string>) {
  const name = `t${++sessions}`;
  const vars = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '60', ...vars, 'bash --norc --noprofile');
  tmux('send-keys', '-t', name, `airmy() { node ${CLI_MAIN} "$@"; }; clear`, 'Enter');
  return {
    send: (...keys: string[]) => tmux('send-keys', '-t', name, ...keys),
    /** the pane as text (wrapped lines joined); with escapes: its colours too */
    capture: (escapes = false) => tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', name),
    /** waits until the pane satisfies `check`, reading it every 20 ms, for at most `ms` */
    async until(check: (pane: string) => boolean, what: string, ms = 60_000, escapes = false) {
      const deadline = Date.now() + ms;
      for (;;) {
        const pane = this.capture(escapes);
        if (check(pane)) return pane;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}:\n${pane}`);
        await delay(20);
      }
    },
    close: () => tmux('kill-session', '-t', name),
  };
}

describe('airmy in a terminal (tmux)', () => {
  let server: LiveServer;
  let home: string;
  let env: Record<string, string>;
  let sdk: Airmy;

  before(async () => {
    server = await startLiveServer('sqlite');
    home = mkdtempSync(path.join(tmpdir(), 'airmy-tty-'));
    env = {
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, 'config'),
      TERM: 'xterm-256color',
      PS1: '$ ',
    };
    sdk = new Airmy({ apiKey: server.key, baseURL: server.baseURL, caFile: server.caFile });
    const login = await cliRunner(env)(['login', '--base-url', server.baseURL, '--ca-file', server.caFile], {
      input: `${server.key}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    try {
      execFileSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
    } catch {}
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('login asks for the key without echoing it, and stores the profile', async () => {
    const t = terminal(env);
    try {
      t.send('airmy login --profile tty', 'Enter');
      await t.until((p) => p.includes('Base URL'), 'the Base URL prompt');
      t.send(server.baseURL, 'Enter');
      await t.until((p) => p.includes('API key'), 'the API key prompt');
      t.send(server.key, 'Enter');
      await t.until((p) => p.includes('CA file'), 'the CA file prompt');
      t.send(server.caFile, 'Enter');
      const pane = await t.until((p) => /Logged in to sdk/.test(p), 'the login confirmation');
      assert.ok(!pane.includes(server.key), 'the key never appears on the screen');
      t.send('airmy agents list --profile tty >/dev/null; echo "OK=$?"', 'Enter');
      assert.match(await t.until((p) => /OK=\d/.test(p), 'a command with the new profile'), /OK=0/);
    } finally {
      t.close();
    }
  });

  test('runs create --stream prints tokens while the run is still running', async () => {
    const agent = await sdk.agents.create({
      name: 'slow',
      model: 'mock/slow',
      parameters: { mock_latency_ms: 5000, mock_chunk_size: 3 },
    });
    const t = terminal(env);
    try {
      t.send(
        `airmy runs create --agent ${agent.id} --input 'Tell me about streams' --stream; echo "EXIT=$?"`,
        'Enter',
      );
      await t.until((p) => p.includes('Mock answer to'), 'the first tokens');
      const [run] = (await sdk.runs.list({ agent_id: agent.id })).data;
      assert.equal(run.status, 'running', 'the first tokens were on screen before the run finished');
      const pane = await t.until((p) => /EXIT=\d/.test(p), 'the end of the command');
      assert.match(pane, /EXIT=0/);
      const done = await sdk.runs.retrieve(run.id);
      assert.ok(pane.includes((done.output as { result: string }).result), 'the whole answer, as streamed');
      assert.match(pane, new RegExp(`${done.id}\\s+completed`));
    } finally {
      t.close();
    }
  });

  test('deploy --wait shows validation progress as it happens, in colour', async () => {
    const smoke = await sdk.agents.create({
      name: 'smoked',
      model: 'mock/smoked',
      parameters: { mock_latency_ms: 2000 },
      smoke_test: { input: { query: 'revenue' }, expect: 'revenue' },
    });
    const t = terminal(env);
    try {
      t.send(`airmy deploy --agent ${smoke.id} --wait; echo "EXIT=$?"`, 'Enter');
      const early = await t.until((p) => /validating/.test(p), 'the validating status');
      assert.doesNotMatch(early, /is active/, 'progress is printed before the deployment is done');
      const pane = await t.until((p) => /EXIT=\d/.test(p), 'the end of the deploy', 60_000, true);
      assert.match(pane, /EXIT=0/);
      assert.ok(pane.includes(`${ESC}[32mactive`), 'the active status is green on a terminal');
      assert.match(pane, /Smoke run run_\S+ passed/);
    } finally {
      t.close();
    }
  });

  test('colours and a sparkline on a terminal; NO_COLOR turns colours off', async () => {
    const agent = await sdk.agents.create({ name: 'plain', model: 'mock/plain' });
    for (let i = 0; i < 3; i++) await sdk.runs.create({ agent_id: agent.id, input: { query: `q${i}` } });
    const t = terminal(env);
    try {
      t.send(`airmy runs list --agent ${agent.id}; echo "EXIT=$?"`, 'Enter');
      const coloured = await t.until((p) => /EXIT=\d/.test(p), 'the run table', 30_000, true);
      assert.ok(coloured.includes(`${ESC}[32mcompleted`), 'a completed run is green');
      t.send('clear', 'Enter');
      tmux('clear-history', '-t', `t${sessions}`);
      t.send(`NO_COLOR=1 airmy runs list --agent ${agent.id}; echo "DONE=$?"`, 'Enter');
      const plain = await t.until((p) => /DONE=\d/.test(p), 'the plain run table', 30_000, true);
      assert.match(plain, /completed/);
      assert.ok(!plain.includes(`${ESC}[`), 'no colour codes with NO_COLOR');
      t.send('clear', 'Enter');
      t.send('airmy metrics --interval 1m; echo "END=$?"', 'Enter');
      const spark = await t.until((p) => /END=\d/.test(p), 'the metrics', 30_000);
      assert.match(spark, /all\s+[▁▂▃▄▅▆▇█]+\s+max \d+/, 'a sparkline instead of a table');
    } finally {
      t.close();
    }
  });
});
