import type { Request, Response } from 'express';
import express from 'express';
import type { Deps } from '../context.js';
import { assertSafeInput } from '../domain/input-limits.js';
import { turn } from '../domain/pace.js';
import { DomainError } from '../errors.js';

/** What a route reads from its body; JSON unless it says otherwise. */
export interface BodyRules {
  /** `bulk`: BULK_BODY_LIMIT_BYTES instead of BODY_LIMIT_BYTES (lists of 100,000 ids). */
  limit?: 'bulk';
  /** Also an HTML form (application/x-www-form-urlencoded): the password-reset page's post. */
  form?: true;
  /** The route streams its own multipart body (uploads): nothing is read here. */
  multipart?: true;
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}

export const JSON_TYPES = ['application/json', 'application/*+json'];

type Parser = (req: Request, res: Response, next: (error?: unknown) => void) => void;

/**
 * Reads a request's body once the caller is known to be allowed to send it (router.ts checks
 * access first): JSON only, unless the route takes a form or streams a multipart upload, so a
 * page on another site cannot post a form to a JSON route. Every key is then checked for names
 * that would reach `Object.prototype` and for hostile depth.
 */
export function createBodyReader(deps: Deps) {
  const parsers = {
    json: express.json({ limit: deps.config.BODY_LIMIT_BYTES, strict: false, type: () => true }) as Parser,
    bulk: express.json({ limit: deps.config.BULK_BODY_LIMIT_BYTES, strict: false, type: () => true }) as Parser,
    form: express.urlencoded({ limit: deps.config.BODY_LIMIT_BYTES, extended: false, type: () => true }) as Parser,
  };
  const run = (parser: Parser, req: Request, res: Response) =>
    new Promise<unknown>((resolve, reject) => parser(req, res, (error) => (error ? reject(error) : resolve(req.body))));

  return async function readBody(rules: BodyRules, req: Request, res: Response): Promise<{ body: unknown; form: boolean }> {
    if (rules.multipart || !hasBody(req)) return { body: undefined, form: false };
    const form = rules.form === true && req.is('application/x-www-form-urlencoded') !== false;
    if (!form && req.is(JSON_TYPES) === false) {
      throw new UnsupportedMediaTypeError(
        `Content-Type must be application/json${rules.form ? ' or application/x-www-form-urlencoded' : ''}`,
      );
    }
    const bulk = !form && rules.limit === 'bulk';
    const body = await run(form ? parsers.form : bulk ? parsers.bulk : parsers.json, req, res);
    // A bulk body (100,000 items) costs tens of milliseconds to parse, then to walk, then to
    // validate: the event loop gets a turn between each, so no request waits for all of them.
    if (bulk) await turn();
    assertSafeInput(body, { where: ['body'] });
    if (bulk) await turn();
    return { body, form };
  };
}

/** As body-parser decides: a body is announced by Transfer-Encoding or a non-zero Content-Length. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
