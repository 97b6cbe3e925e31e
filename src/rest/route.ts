import type { IncomingMessage } from 'node:http';
import type { Context } from '../context.js';
import type { CrudQuery } from '../crud/query.js';
import type { BodyRules } from './body.js';
import type { RouteDoc } from './route-doc.js';

export interface RestRequest {
  params: Record<string, string>;
  query: CrudQuery;
  body: unknown;
  /** True when the body came from an HTML form (application/x-www-form-urlencoded). */
  form: boolean;
  /** The query string as it came, for the paths that pass it on unchanged. */
  rawQuery: string;
  /** The request itself, for the paths that stream their body (multipart uploads). */
  stream?: IncomingMessage;
}

/** One documented path: how to call its operation and which status a success answers. */
export interface Route {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  status: 200 | 201 | 202 | 204;
  /**
   * Checked before the request is even parsed (so a stranger learns nothing from a 400). `timer`:
   * the Timer Service's secret header, or an administrator (the expiration callback).
   */
  access: 'public' | 'authenticated' | 'admin' | 'timer';
  handle: (ctx: Context, request: RestRequest) => Promise<unknown>;
  /** How the body is read (rest/body.ts): JSON by default. */
  body?: BodyRules;
  /** The error a malformed body becomes, when the usage page says other than 400. */
  onBodyError?: (error: Error) => Error;
  /** Headers of every answer of the route, errors included (`Cache-Control: no-store` where it holds credentials or a ticket). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Answered on node:http before Express (rest/fast-path.ts): for body-less reads that set no
   * cookies and read no path parameters, where Express's own cost would be most of the request's.
   */
  fastPath?: true;
  /** What the OpenAPI document says of it (rest/openapi.ts). */
  doc: RouteDoc;
}
