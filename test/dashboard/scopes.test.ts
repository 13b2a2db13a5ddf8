/**
 * The dashboard's key form offers the scopes as a list of its own (the browser bundle does not
 * import server code): it must hold every scope of the server's, once, or a new scope could not be
 * granted from the dashboard.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Scopes } from '../../src/auth/scopes.ts';

test("the dashboard's scope list is the server's", () => {
  const file = path.resolve(import.meta.dirname, '../../dashboard/src/pages/Keys.tsx');
  const block = /export const SCOPES = \[([^\]]*)\]/.exec(readFileSync(file, 'utf8'));
  assert.ok(block, 'dashboard/src/pages/Keys.tsx exports SCOPES');
  const listed = [...block[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
  assert.deepEqual([...listed].sort(), [...Scopes].sort());
  assert.equal(new Set(listed).size, listed.length, 'each scope once');
});
