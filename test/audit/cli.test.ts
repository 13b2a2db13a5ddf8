import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

describe('airmy audit verify', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-audit-cli-'));
  const env = { PATH: process.env.PATH ?? '', AIRMY_DATA_DIR: dir };
  const airmy = (...args: string[]) => exec(process.execPath, [MAIN, ...args], { env });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help lists it', async () => {
    assert.match((await airmy('--help')).stdout, /audit verify/);
  });

  test('reports intact chains with exit 0, and a tampered entry with its id and exit 1', async () => {
    const org = (await airmy('orgs', 'create', '--name', 'Acme')).stdout.trim();
    await airmy('keys', 'create', '--org', org);
    await airmy('keys', 'create', '--org', org, '--name', 'second');
    const ok = await airmy('audit', 'verify', '--org', org);
    assert.match(ok.stdout, new RegExp(`${org}\\tok\\t2 entries`));

    const db = new DatabaseSync(path.join(dir, 'airmy.db'));
    const { id } = db.prepare('SELECT id FROM audit_logs WHERE org_id = ? AND seq = 2').get(org) as {
      id: string;
    };
    db.prepare("UPDATE audit_logs SET changes = '[]' WHERE id = ?").run(id);
    db.close();

    await assert.rejects(airmy('audit', 'verify', '--org', org), (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, new RegExp(`${org}\\tBROKEN\\tat seq 2 \\(${id}\\): hash_mismatch`));
      return true;
    });
    // without --org: every chain is walked, and the broken one still fails the command
    await assert.rejects(airmy('audit', 'verify'), (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, /BROKEN/);
      return true;
    });
  });
});
