import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by scripts/build-dashboard.ts into dist/dashboard; served by src/dashboard/routes.ts.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  publicDir: false,
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/dashboard'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // no inline <script> or data: module preload polyfill: the CSP allows only files from 'self'
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
    manifest: true,
  },
});
