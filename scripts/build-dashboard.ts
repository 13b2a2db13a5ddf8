/**
 * `npm run build:dashboard` (and `prepare`, so `npm ci` runs it): Vite builds dashboard/ into
 * dist/dashboard, every text file gets a `.gz` and a `.br` beside it (the server sends those, it
 * never compresses per request), and the first page's JavaScript — the entry script index.html
 * loads plus the chunks it preloads — is printed gzipped and held to its 250 KB budget.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist/dashboard');
const BUDGET_GZIP_BYTES = 250 * 1024;
const COMPRESSIBLE = /\.(html|js|css|svg|json|txt)$/;

let vite: typeof import('vite');
try {
  vite = await import('vite');
} catch {
  // `npm ci --omit=dev` has no Vite: keep whatever dist/dashboard holds (the server says if none)
  console.warn('build-dashboard: vite is not installed (dev dependency); dashboard not rebuilt');
  process.exit(0);
}

await vite.build({
  configFile: path.join(ROOT, 'dashboard/vite.config.ts'),
  logLevel: 'warn',
});

const files: string[] = [];
const walk = (dir: string) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (COMPRESSIBLE.test(name)) files.push(full);
  }
};
walk(OUT);
const gzipped = new Map<string, number>();
for (const file of files) {
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(`${file}.gz`, gz);
  writeFileSync(
    `${file}.br`,
    brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }),
  );
  gzipped.set(`/${path.relative(OUT, file).split(path.sep).join('/')}`, gz.length);
}

// The first page (signed in: the Overview) is the entry chunk, the Overview's lazy chunk and every
// chunk they import statically, per Vite's manifest; the login page alone is the entry's share.
interface Chunk {
  file: string;
  imports?: string[];
  isEntry?: boolean;
}
const manifest = JSON.parse(readFileSync(path.join(OUT, '.vite/manifest.json'), 'utf8')) as Record<
  string,
  Chunk
>;
const closure = (keys: string[]) => {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key) || !manifest[key]) return;
    seen.add(key);
    for (const next of manifest[key].imports ?? []) visit(next);
  };
  for (const key of keys) visit(key);
  return [...seen].map((key) => `/${manifest[key].file}`);
};
const entry = Object.keys(manifest).filter((key) => manifest[key].isEntry);
const sizeOf = (files: string[]) => files.reduce((sum, file) => sum + (gzipped.get(file) ?? 0), 0);
const login = sizeOf(closure(entry));
const firstPage = closure([...entry, 'src/pages/Overview.tsx']);
const total = sizeOf(firstPage);
const all = [...gzipped].filter(([file]) => file.endsWith('.js')).reduce((sum, [, n]) => sum + n, 0);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `dashboard: first page (Overview) JavaScript ${kb(total)} gzipped in ${firstPage.length} files (budget ${kb(BUDGET_GZIP_BYTES)}); login page ${kb(login)}; all pages ${kb(all)}`,
);
if (total > BUDGET_GZIP_BYTES) {
  console.error(`dashboard: the first page is over its ${kb(BUDGET_GZIP_BYTES)} budget`);
  process.exit(1);
}
