import type { z } from 'zod';

/**
 * What the OpenAPI document says of one route of the table, besides what the table itself says
 * (method, path, access, success status). The schemas are the zod schemas the route parses with,
 * or for answers the documented bodies of rest/openapi-schemas.ts.
 */
export interface RouteDoc {
  tag: 'Authentication' | 'Users' | 'Jobs' | 'Internal';
  summary: string;
  description?: string;
  /** What each path parameter (`:id`) is. */
  params?: Readonly<Record<string, string>>;
  query?: z.ZodObject;
  body?: BodyDoc;
  /** The answers: the success status of the route at least. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /**
   * Failures particular to the route, with what they mean. rest/openapi.ts adds those every route
   * of its kind shares: 400 with an input, 401 and 403 with an access check, 413 and 415 with a
   * body, 500 and 503 everywhere. `null`: a shared failure the route never answers.
   */
  errors?: Readonly<Record<number, string | ResponseDoc | null>>;
  /** Request headers the route reads, besides the credentials. */
  headers?: Readonly<Record<string, string>>;
}

export interface BodyDoc {
  description?: string;
  /** The body may be left out (POST /logout's). */
  optional?: true;
  /** `application/json`. */
  json?: z.ZodType;
  /** `application/x-www-form-urlencoded` (the reset page's form). */
  form?: z.ZodType;
  /** `multipart/form-data` (uploads). */
  multipart?: z.ZodType;
}

export interface ResponseDoc {
  description: string;
  json?: z.ZodType;
  /** An HTML page. */
  html?: true;
  /** Other media types the body may be, as text (a file to download). */
  files?: readonly string[];
  /** Response headers worth knowing, with what they carry. */
  headers?: Readonly<Record<string, string>>;
}
