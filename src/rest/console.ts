import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';

/** The console's own path; its built files are served under /admin/assets/. */
export const CONSOLE_PATH = '/admin';

/**
 * The admin console's headers: its scripts and styles come from this service only (no inline
 * script, no CDN), it talks only to this service, and nothing may frame it.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/** Where `npm run build` writes the console: dist/console beside the package.json above this file. */
export function defaultConsoleDir(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) folder = dirname(folder);
  return join(folder, 'dist', 'console');
}

/**
 * Serves the console: hashed assets for a year (`immutable`: a new build has new names), and
 * index.html for /admin and every path under it (the single-page app routes itself), never cached,
 * so a new build is picked up at the next visit. Without a build, /admin answers a page saying how
 * to make one (503), never a 500.
 */
export function consoleRouter(dir: string = defaultConsoleDir()): Router {
  const router = express.Router();
  router.use(CONSOLE_PATH, (_req, res, next) => {
    res.set(CONSOLE_HEADERS);
    next();
  });
  router.use(
    `${CONSOLE_PATH}/assets`,
    express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, redirect: false, fallthrough: true }),
  );
  // Under /admin/assets, a name no build wrote is a 404, not the app's page.
  router.get(`${CONSOLE_PATH}/assets/*rest`, (_req, res) => {
    res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('Not found');
  });
  // Every other GET under /admin is the app's page. Matched by prefix, not by a `*rest` parameter:
  // Express decodes a parameter, and a link with a malformed escape (/admin/users/%E0) was its raw
  // JSON 400 instead of the console saying the page is not found.
  router.use(CONSOLE_PATH, (req: Request, res: Response, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') void sendIndex(dir, res);
    else next();
  });
  return router;
}

async function sendIndex(dir: string, res: Response): Promise<void> {
  // Read at each visit (a few hundred bytes): a build made while the service runs is served at once.
  const html = await readFile(join(dir, 'index.html'), 'utf8').catch(() => undefined);
  res.set('Cache-Control', 'no-cache');
  if (html !== undefined) {
    res.status(200).type('html').send(html);
    return;
  }
  res
    .status(503)
    .set('Cache-Control', 'no-store')
    .type('html')
    .send(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head><body>' +
        '<h1>The admin console is not built</h1><p>Run <code>npm run build</code> (or <code>npm run build:console</code>) ' +
        "in the service's folder, then reload this page. The REST and GraphQL APIs work without it.</p></body></html>",
    );
}
