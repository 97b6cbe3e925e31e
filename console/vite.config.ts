import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The admin console, built into dist/console and served by the service at /admin (src/rest/console.ts).
 * Hashed file names under assets/ let the service cache them for a year; index.html is never cached.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  // Preact's automatic JSX runtime: no React, no Preact preset plugin needed.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline module-preload polyfill: the strict CSP allows no inline script.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
