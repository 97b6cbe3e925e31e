import type { NextFunction, Request, Response } from 'express';
import { createContext, type Deps } from '../context.js';
import { requireAdmin } from '../resolvers/access.js';
import { cookieJar } from '../cookies.js';
import { JSON_TYPES, UnsupportedMediaTypeError } from './body.js';
import { assertSameOrigin } from './origin.js';

/**
 * In front of `POST /graphql`: the same cross-site rule as REST, JSON or multipart only (no
 * form posts), and a multipart upload only from an administrator, checked before it is spooled.
 */
export function graphqlGate(deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      assertSameOrigin(req, deps.config);
      if (req.is('multipart/form-data')) {
        await requireAdmin(createContext({ headers: req.headers, ip: req.ip, cookies: cookieJar(res, deps) }, deps));
      } else if (req.is(JSON_TYPES) === false) {
        throw new UnsupportedMediaTypeError('Content-Type must be application/json, or multipart/form-data for uploads');
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}
