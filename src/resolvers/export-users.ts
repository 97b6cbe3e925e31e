import type { ScanPage, UserDoc } from '../ports/user-store.js';
import type { Context } from '../context.js';
import { readableFields } from '../crud/projection.js';
import { type CrudQuery, parseCountQuery } from '../crud/query.js';
import { atDeadline } from '../deadline.js';
import { pace } from '../domain/pace.js';
import { during, UnauthorizedError } from '../errors.js';
import { createLoaders, identityFieldSet, type IdentityLoader } from '../loaders.js';
import { requireAdmin, stillAdmin } from './access.js';
import { csvExport, IDENTITY_FIELDS, ndjsonExport, type ExportFormat, type RowWriter } from './export-rows.js';

export type { ExportFormat } from './export-rows.js';

/** A file to download, produced as it is sent: the transport writes `chunks` as the client takes them. */
export class Download {
  constructor(
    readonly type: string,
    readonly filename: string,
    readonly chunks: AsyncIterable<string>,
  ) {}
}

export interface ExportRequest {
  /** The list filters of `GET /users/`: `_q`, `_st`, `field=value` (the acl_rows header comes with the scope). */
  query: CrudQuery;
  format: ExportFormat;
  /** Add each user's identity (read in batches of PAGE_SIZE, one identity-provider call each). */
  identity: boolean;
  /** `HEAD`: the answer's headers only, after the same checks; no user nor identity is read. */
  headersOnly?: boolean;
}

/** Users per store read, and per identity-provider call. */
export const EXPORT_PAGE_SIZE = 100;

const ACTION = 'exporting users';

/**
 * `GET /users/export`: every user the filters select, page after page from the store, as CSV
 * (the import's columns and cells, so the file re-imports unchanged) or NDJSON. The filters are
 * checked and the first page read before anything is sent, so a bad filter or a failing store is
 * an ordinary error answer; later pages are read only as the client takes the earlier ones.
 */
export async function exportUsers(ctx: Context, request: ExportRequest): Promise<Download> {
  await requireAdmin(ctx);
  parseCountQuery(request.query, ctx.scope.headers.acl_rows);
  // acl_read_columns as on GET /users/: the store reads whole users (the identities need their authUserId).
  const shape = { identity: request.identity, readable: readableFields(undefined, ctx.scope.headers.acl_read_columns) };
  // A HEAD ran the whole export to send none of it: every user read, and every identity with `identity`.
  if (request.headersOnly) {
    const { type, extension } = request.format === 'csv' ? csvExport([], shape) : ndjsonExport(shape);
    return new Download(type, fileName(extension), noChunks());
  }
  const writer =
    request.format === 'csv' ? csvExport(await during(ACTION, () => ctx.deps.groups.listGroups()), shape) : ndjsonExport(shape);
  const read = (after?: string) =>
    withPageDeadline(ctx, () => ctx.deps.users.scan(request.query, { after, limit: EXPORT_PAGE_SIZE }, ctx.scope));
  const first = await read();
  return new Download(writer.type, fileName(writer.extension), chunks({ ctx, request, writer, first, read }));
}

function fileName(extension: string): string {
  const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
  return `users-${stamp}.${extension}`;
}

/** A download with no bytes: the answer to a HEAD. */
async function* noChunks(): AsyncGenerator<string> {
  return;
}

async function* chunks({
  ctx,
  request,
  writer,
  first,
  read,
}: {
  ctx: Context;
  request: ExportRequest;
  writer: RowWriter;
  first: ScanPage;
  read: (after?: string) => Promise<ScanPage>;
}): AsyncGenerator<string> {
  // The header goes with the first page: the first chunk comes only once its identities are read.
  let text = writer.header ?? '';
  let page = first;
  for (;;) {
    const identities = request.identity ? await withPageDeadline(ctx, () => loadIdentities(ctx, page.users)) : undefined;
    text += writer.rows(page.users, identities);
    if (text !== '') yield text;
    text = '';
    if (page.next === undefined) return;
    // Embedded stores answer without I/O: without a turn now and then the export would hold the loop.
    await pace();
    // A slow download runs for minutes: it ends with its caller's session or rights (docs/security.md).
    if (!(await stillAdmin(ctx))) throw new UnauthorizedError('The caller may no longer export users');
    page = await read(page.next);
  }
}

/**
 * The identities of one page in one identity-provider call, through the loader GraphQL pages use;
 * a fresh one per page, so that what it caches is one page, not the whole export.
 */
async function loadIdentities(ctx: Context, users: readonly UserDoc[]): Promise<IdentityLoader> {
  const loader = createLoaders(ctx.deps.identity).identities(identityFieldSet(IDENTITY_FIELDS));
  const ids = users.flatMap((user) => (typeof user.authUserId === 'string' && user.authUserId !== '' ? [user.authUserId] : []));
  await loader.loadMany(ids);
  return loader;
}

/**
 * Each page gets REQUEST_TIMEOUT_MS of its own: an export lasts as long as the client takes to
 * read it, and the request's deadline would otherwise cut the upstream calls of its later pages.
 */
function withPageDeadline<T>(ctx: Context, step: () => Promise<T>): Promise<T> {
  return during(ACTION, () => atDeadline(Date.now() + ctx.deps.config.REQUEST_TIMEOUT_MS, step));
}
