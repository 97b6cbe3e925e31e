import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';
import { openApiDocument } from './openapi.js';

const require = createRequire(import.meta.url);
/** Swagger UI's own build (swagger-ui-dist): the page loads it from here, never from a CDN. */
const SWAGGER_UI = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

/**
 * Everything from this service: Swagger UI's script and styles, and the document. Swagger UI sets
 * inline styles, so styles may be inline; no script is (the page's setup is `init.js`).
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

// Relative URLs: the page works under whatever prefix a gateway serves the service at.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>User Manager Service: REST API</title>
<link rel="stylesheet" href="documentation/static/swagger-ui.css">
<link rel="icon" type="image/png" href="documentation/static/favicon-32x32.png" sizes="32x32">
</head><body><div id="swagger-ui"></div>
<script src="documentation/static/swagger-ui-bundle.js"></script>
<script src="documentation/init.js"></script>
</body></html>`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: 'documentation/json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * `GET /documentation/json`, the OpenAPI document of the REST paths (Mia-Platform's convention), and
 * `GET /documentation`, the same rendered by Swagger UI. Public, like the paths' own descriptions
 * (docs/decisions.md).
 */
export function documentationRouter(): Router {
  const router = express.Router({ strict: true });
  // Built on the first request, not at start: converting the zod schemas takes about 0.2 s.
  let json: string | undefined;
  router.get('/documentation/json', (_req, res) => {
    res.type('application/json').send((json ??= JSON.stringify(openApiDocument())));
  });
  router.get('/documentation', (_req, res) => {
    res.set(PAGE_HEADERS).type('html').send(PAGE);
  });
  // The page's relative URLs need the path without the slash.
  router.get('/documentation/', (_req, res) => res.redirect(301, '../documentation'));
  router.get('/documentation/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  router.get('/documentation/static/:file', (req, res, next) => {
    if (!ASSETS.has(req.params.file)) return next();
    res.sendFile(req.params.file, { root: SWAGGER_UI, maxAge: '1d' });
  });
  return router;
}
