/**
 * Every shell block of README.md and docs/*.md runs, as pasted, against a live server: the real
 * `airmy serve` in a child process (embedded SQLite, demo mode, its own data dir, port 0). Each
 * file's blocks run in order in one bash session with the README's setup variables preset —
 * AIRMY (the base URL, ending in /v2) and CA (the server's CA file); docs pages also get KEY, an
 * all-scopes key of a fresh organization. README makes its own key through its own blocks, with the
 * CLI pointed at the server's data dir by AIRMY_DATA_DIR, as the README tells its reader.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { buildResources } from '../../src/resources.ts';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { openBashSession } from './bash-session.ts';
import { documentationFiles, type ShellBlock, shellBlocks } from './markdown-blocks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The user's environment: no AIRMY_* setting of the machine running the tests, and no npm-run
 * additions (node_modules/.bin on PATH would give the blocks a `node` a reader's shell has not).
 */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('AIRMY_') && !k.startsWith('npm_')) env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}`))
    .join(path.delimiter);
  return env;
}

async function runFile(
  file: string,
  blocks: ShellBlock[],
  env: Record<string, string>,
): Promise<{ ran: number }> {
  // generous: README's block with two CLI calls takes ~5 s, several times that on a loaded machine
  const session = openBashSession({ cwd: ROOT, env, timeoutMs: 60_000 });
  let ran = 0;
  try {
    for (const block of blocks) {
      if (block.notRun !== null) continue;
      const result = await session.run(block.code, block.prints.length === 0);
      ran++;
      const where = `${file} block ${block.number} (line ${block.line})`;
      assert.equal(
        result.code,
        0,
        `${where} failed (exit ${result.code}):\n${block.code}\n--- output ---\n${result.output}`,
      );
      for (const text of block.prints) {
        assert.ok(
          result.output.includes(text),
          `${where} should print ${JSON.stringify(text)}:\n${block.code}\n--- output ---\n${result.output}`,
        );
      }
    }
  } finally {
    await session.close();
  }
  return { ran };
}

// Files run side by side (each in its own session and organization; README's CLI calls are slow).
describe('shell blocks of README.md and docs/*.md run against a live server', { concurrency: 3 }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'airmy-docs-'));
  let server: ChildServer;
  let resources: Awaited<ReturnType<typeof buildResources>>;
  let base: string;
  let ca: string;

  before(async () => {
    server = await startChildServer({ AIRMY_DATA_DIR: dataDir });
    base = `https://127.0.0.1:${server.port}/v2`;
    ca = path.join(dataDir, 'tls', 'ca.pem');
    resources = await buildResources({ ...parseConfig({ AIRMY_DATA_DIR: dataDir }), demo: false });
  });
  after(async () => {
    await resources?.close();
    await server?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh organization with a high limit, so pages never share a rate-limit bucket. */
  async function freshKey(name: string) {
    const org = await resources.services.organizations.create({
      name,
      plan: 'enterprise',
      rpm: 100_000,
      burst: 100_000,
    });
    return (await resources.services.apiKeys.create(org.id, { name })).secret;
  }

  test("README's setup line names the server's defaults (the test presets them for its own server)", () => {
    const defaults = parseConfig({}, ROOT);
    const setup = shellBlocks(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).find((b) =>
      /^export AIRMY=/m.test(b.code),
    );
    assert.ok(setup, 'README has a block that exports AIRMY and CA');
    assert.ok(setup.notRun, 'the setup block is not-run: the test presets AIRMY and CA');
    const vars = Object.fromEntries([...setup.code.matchAll(/\b(AIRMY|CA)=(\S+)/g)].map((m) => [m[1], m[2]]));
    assert.equal(vars.AIRMY, `https://${defaults.host}:${defaults.port}/v2`);
    const caFile = (vars.CA ?? '').replace(/^\$PWD\//, '');
    assert.equal(path.resolve(ROOT, caFile), path.join(defaults.dataDir, 'tls', 'ca.pem'));
  });

  test('a block whose curl gets an HTTP error fails, reported by file, number and output', async () => {
    const env = { ...userEnv(), AIRMY: base, CA: ca, KEY: await freshKey('docs self-test') };
    const page = [
      '```sh',
      'acurl() { curl -sS --cacert "$CA" -H "Authorization: Bearer $KEY" "$@"; }',
      '```',
      '<!-- prints: "code":"resource_missing" -->',
      '```sh',
      'acurl "$AIRMY/agents/ag_nope"',
      '```',
      '```sh',
      'acurl "$AIRMY/agents/ag_nope"',
      '```',
    ].join('\n');
    await assert.rejects(
      runFile('page.md', shellBlocks(page), env),
      (err: Error) =>
        err.message.startsWith('page.md block 3 (line 8) failed (exit 22)') &&
        err.message.includes('"code":"resource_missing"'),
    );
    await assert.rejects(
      runFile('page.md', shellBlocks('<!-- prints: 201 -->\n```sh\necho 200\n```'), env),
      /page\.md block 1 \(line 2\) should print "201"/,
    );
  });

  for (const file of documentationFiles(ROOT)) {
    test(file, async (t) => {
      const blocks = shellBlocks(readFileSync(path.join(ROOT, file), 'utf8'));
      const env: Record<string, string> = { ...userEnv(), AIRMY: base, CA: ca, AIRMY_DATA_DIR: dataDir };
      if (file !== 'README.md') env.KEY = await freshKey(`docs ${file}`);
      const { ran } = await runFile(file, blocks, env);
      t.diagnostic(`${ran} blocks run, ${blocks.length - ran} not-run`);
    });
  }

  test('README and docs hold shell blocks to run', (t) => {
    const runnable = documentationFiles(ROOT).flatMap((f) =>
      shellBlocks(readFileSync(path.join(ROOT, f), 'utf8')).filter((b) => b.notRun === null),
    );
    t.diagnostic(`${runnable.length} shell blocks to run in all`);
    assert.ok(runnable.length > 0);
  });
});
