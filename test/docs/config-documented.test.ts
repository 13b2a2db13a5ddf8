/** Every environment variable the server reads is documented somewhere in README.md or docs/. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { documentationFiles } from './markdown-blocks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('each AIRMY_* variable of src/config.ts appears in the documentation', () => {
  const source = readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8');
  const read = new Set([...source.matchAll(/\bAIRMY_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]));
  const docs = documentationFiles(ROOT)
    .map((f) => readFileSync(path.join(ROOT, f), 'utf8'))
    .join('\n');
  const missing = [...read].filter((v) => !docs.includes(v)).sort();
  assert.ok(read.size > 10, 'config.ts reads its variables by name');
  assert.deepEqual(missing, [], 'document these in docs/configuration.md');
});
