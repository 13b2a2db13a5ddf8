/**
 * The built dashboard (dist/dashboard, made by scripts/build-dashboard.ts) read into memory once at
 * start-up: a few hundred KB. Each file is kept raw, gzipped and brotli-compressed (the build writes
 * `.gz` and `.br` beside each file; missing ones are made here), so an answer costs no compression.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface DashboardFile {
  type: string;
  etag: string;
  raw: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
}

export interface DashboardFiles {
  /** false when the directory has no index.html (not built): `/` then explains how to build it */
  built: boolean;
  dir: string;
  /** by URL path: `/index.html`, `/assets/index-3f2a9c.js`, … */
  get(urlPath: string): DashboardFile | undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
/** Compressing below this size saves less than the headers it costs. */
const MIN_COMPRESS = 512;
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

function walk(dir: string, prefix: string, out: string[]) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full, `${prefix}/${name}`, out);
    else if (!name.endsWith('.gz') && !name.endsWith('.br')) out.push(`${prefix}/${name}`);
  }
}

function variant(file: string, suffix: string, make: () => Buffer): Buffer {
  return existsSync(file + suffix) ? readFileSync(file + suffix) : make();
}

export function loadDashboardFiles(dir: string): DashboardFiles {
  const files = new Map<string, DashboardFile>();
  if (existsSync(path.join(dir, 'index.html'))) {
    const paths: string[] = [];
    walk(dir, '', paths);
    for (const urlPath of paths) {
      const full = path.join(dir, urlPath);
      const raw = readFileSync(full);
      const ext = path.extname(urlPath).toLowerCase();
      const compress = COMPRESSIBLE.has(ext) && raw.length >= MIN_COMPRESS;
      files.set(urlPath, {
        type: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"`,
        raw,
        gzip: compress ? variant(full, '.gz', () => gzipSync(raw, { level: 9 })) : null,
        br: compress
          ? variant(full, '.br', () =>
              brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }),
            )
          : null,
      });
    }
  }
  return { built: files.has('/index.html'), dir, get: (urlPath) => files.get(urlPath) };
}
