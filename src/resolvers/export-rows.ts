import type { GroupConfig } from '../ports/config-store.js';
import type { IdentityField, IdentityUser } from '../ports/identity-provider.js';
import type { UserDoc } from '../ports/user-store.js';
import { isPlainObject } from '../crud/filter.js';
import { projectDoc } from '../crud/projection.js';
import { type CellSchema, csvLine, isCsvColumnName, neutralizeFormula, valueToCell } from '../domain/csv-cells.js';
import { type IdentityLoader, isIdentityField } from '../loaders.js';
import { SERVICE_FIELDS } from './inputs.js';

export type ExportFormat = 'csv' | 'ndjson';

/** How one format writes a page of users. */
export interface RowWriter {
  type: string;
  extension: string;
  /** Written once, before the first row. */
  header?: string;
  rows(users: readonly UserDoc[], identities?: IdentityLoader): string;
}

export const IDENTITY_FIELDS: readonly IdentityField[] = [
  'username',
  'email',
  'blocked',
  'emailVerified',
  'createdAt',
  'updatedAt',
  'lastLogin',
  'loginsCount',
];

/** The identity columns of a CSV export are `identity.<field>`: read-only, the import leaves them out. */
const IDENTITY_PREFIX = 'identity.';

export function isIdentityColumn(name: string): boolean {
  return name.startsWith(IDENTITY_PREFIX) && isIdentityField(name.slice(IDENTITY_PREFIX.length));
}

/** The columns every export has, first: the user's id (a row with one updates that user) and the standard fields. */
const STANDARD_COLUMNS = ['_id', 'userGroup', 'username', 'email', 'blocked', 'roles', 'expirationDate'];
/** What the import refuses to write (set by the service or the store): no column, or every row would be skipped. */
const NOT_COLUMNS = new Set([...SERVICE_FIELDS, 'authUserId', 'password']);

/**
 * The CSV columns: the standard fields, then every property the groups' schemas declare (a file
 * streamed page by page must name its columns before it has seen the users). Fields a schema does
 * not declare are in the NDJSON export only.
 */
export function csvColumns(groups: readonly GroupConfig[]): string[] {
  const columns = new Set(STANDARD_COLUMNS);
  for (const group of groups) {
    const properties = group.crudSchema.properties;
    if (!isPlainObject(properties)) continue;
    for (const name of Object.keys(properties)) if (!NOT_COLUMNS.has(name) && isCsvColumnName(name)) columns.add(name);
  }
  return [...columns];
}

/**
 * What an export may show under the `acl_read_columns` header (`readable`, undefined without it):
 * the fields it names, `_id` always (as the CRUD's projection), and of the identity only the
 * fields it names as profile fields (`email` lets `identity.email` through), so that a column the
 * caller may not read on `GET /users/` does not come back as the identity's copy of it.
 */
export interface ExportShape {
  identity: boolean;
  readable?: readonly string[];
}

const shownIdentityFields = ({ identity, readable }: ExportShape) =>
  identity ? IDENTITY_FIELDS.filter((field) => !readable || readable.includes(field)) : [];

export function csvExport(groups: readonly GroupConfig[], shape: ExportShape): RowWriter {
  const { readable } = shape;
  // A column is a whole top-level field: only one the header names whole (`address.city` shows no `address`).
  const columns = csvColumns(groups).filter((column) => !readable || column === '_id' || readable.includes(column));
  // Group names come from the store's documents: a Map, never a plain object's keys.
  const schemas = new Map(groups.map((group) => [group.userGroup, group.crudSchema as CellSchema]));
  const identityFields = shownIdentityFields(shape);
  const identityColumns = identityFields.map((field) => IDENTITY_PREFIX + field);
  return {
    type: 'text/csv; charset=utf-8',
    extension: 'csv',
    header: csvLine([...columns, ...identityColumns]),
    rows(users, identities) {
      let text = '';
      for (const user of users) {
        const schema = schemas.get(user.userGroup) ?? {};
        const cells = columns.map((column) => valueToCell(column, Object.hasOwn(user, column) ? user[column] : undefined, schema));
        if (identities) {
          const found = identityOf(identities, user);
          for (const field of identityFields) cells.push(found?.[field] === undefined ? '' : neutralizeFormula(String(found[field])));
        }
        text += csvLine(cells);
      }
      return text;
    },
  };
}

/** One JSON document a line: the user as `GET /users/:id` answers it, with `identity` (or null) when asked for. */
export function ndjsonExport(shape: ExportShape): RowWriter {
  const { readable } = shape;
  const identityFields = shownIdentityFields(shape);
  return {
    type: 'application/x-ndjson; charset=utf-8',
    extension: 'ndjson',
    rows(users, identities) {
      let text = '';
      for (const user of users) {
        const shown = readable ? projectDoc(user, readable) : user;
        const found = shape.identity && identities ? identityOf(identities, user) : undefined;
        const identity = found && (readable ? pick(found, identityFields) : found);
        text += `${JSON.stringify(shape.identity && identities ? { ...shown, identity: identity ?? null } : shown)}\n`;
      }
      return text;
    },
  };
}

function pick(identity: IdentityUser, fields: readonly IdentityField[]): Partial<IdentityUser> {
  return Object.fromEntries(fields.filter((field) => identity[field] !== undefined).map((field) => [field, identity[field]]));
}

function identityOf(identities: IdentityLoader, user: UserDoc): IdentityUser | undefined {
  return typeof user.authUserId === 'string' && user.authUserId !== '' ? (identities.peek(user.authUserId) ?? undefined) : undefined;
}
