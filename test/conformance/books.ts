import { readFileSync } from 'node:fs';
import type { CollectionSpec } from '../emulators/crud.js';
import { CRUD_COLLECTIONS } from '../helpers/service.js';

/**
 * The CRUD Service's `books` fixtures (crud-service 7.2.5, tests/utils.js) as users of a `books`
 * group whose schema mirrors the books collection: the same documents, the same field types, so
 * the CRUD's answers to its own test queries are the answers expected here.
 */
const FIXTURES_PATH = new URL('../../../shared/data/crud-books-fixtures.json', import.meta.url);
const FALLBACK_PATH = '/work/shared/data/crud-books-fixtures.json';

type Json = Record<string, unknown>;

function readFixtures(): Json[] {
  let text: string;
  try {
    text = readFileSync(FIXTURES_PATH, 'utf8');
  } catch {
    text = readFileSync(FALLBACK_PATH, 'utf8');
  }
  return (JSON.parse(text) as { documents: Json[] }).documents;
}

/** Fields the service writes itself, or that the users collection does not hold (GeoPoint, ObjectId). */
const LEFT_OUT = new Set(['createdAt', 'updatedAt', 'creatorId', 'updaterId', 'position', 'authorAddressId']);

/** The fixture documents as users of the `books` group, with their own `_id` and state. */
export const BOOK_USERS: Json[] = readFixtures().map((doc) => ({
  ...Object.fromEntries(Object.entries(doc).filter(([field]) => !LEFT_OUT.has(field))),
  userGroup: 'books',
}));

export const bookById = (id: string): Json => BOOK_USERS.find((doc) => doc._id === id)!;

const NUMBER = { type: 'number' };
const STRING = { type: 'string' };
const DATE_TIME = { type: 'string', format: 'date-time' };

/** The books collection's fields as a group's JSON Schema. */
export const BOOKS_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: ['string', 'null'] },
    isbn: STRING,
    price: NUMBER,
    author: STRING,
    isPromoted: { type: 'boolean' },
    publishDate: DATE_TIME,
    tags: { type: 'array', items: STRING },
    tagIds: { type: 'array', items: NUMBER },
    additionalInfo: { type: ['object', 'null'] },
    metadata: {
      type: 'object',
      properties: {
        somethingString: STRING,
        somethingNumber: NUMBER,
        somethingArrayObject: {
          type: 'array',
          items: { type: 'object', properties: { arrayItemObjectChildNumber: NUMBER }, required: ['arrayItemObjectChildNumber'] },
        },
        somethingObject: { type: 'object', properties: { childNumber: NUMBER } },
        somethingArrayOfNumbers: { type: 'array', items: NUMBER },
      },
      // As the books collection (tests/newCollectionDefinitions/books.js).
      required: ['somethingNumber'],
      additionalProperties: false,
    },
    attachments: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: STRING,
          detail: { type: 'object', properties: { size: NUMBER } },
          nestedArr: { type: 'array', items: NUMBER },
          other: STRING,
        },
      },
    },
    editionsDates: { type: 'array', items: { type: 'object', properties: { edition: NUMBER, date: DATE_TIME } } },
  },
  // As the books collection: no other field (a query naming one is the CRUD's 400, issue #19 item 7).
  additionalProperties: false,
  // As the books collection's required fields (name is nullable, not optional).
  required: ['name', 'isbn'],
};

/** `books` holds the fixtures; `scratch` the copies a case may change. */
export const BOOK_GROUPS = ['books', 'scratch'].map((userGroup) => ({
  userGroup,
  label: userGroup,
  authUserCreationDisabled: true,
  crudSchema: BOOKS_SCHEMA,
}));

/** The same fields as the CRUD emulator's collection definition (its own flat notation, as the CRUD's field definitions). */
const BOOK_FIELDS: CollectionSpec['fields'] = {
  name: 'string',
  isbn: 'string',
  price: 'number',
  author: 'string',
  isPromoted: 'boolean',
  publishDate: 'date',
  tags: 'array',
  'tags.__items': 'string',
  tagIds: 'array',
  'tagIds.__items': 'number',
  additionalInfo: 'object',
  metadata: 'object',
  'metadata.somethingString': 'string',
  'metadata.somethingNumber': 'number',
  'metadata.somethingArrayObject': 'array',
  'metadata.somethingArrayObject.arrayItemObjectChildNumber': 'number',
  'metadata.somethingObject': 'object',
  'metadata.somethingObject.childNumber': 'number',
  'metadata.somethingArrayOfNumbers': 'array',
  'metadata.somethingArrayOfNumbers.__items': 'number',
  attachments: 'array',
  'attachments.name': 'string',
  'attachments.detail': 'object',
  'attachments.detail.size': 'number',
  'attachments.nestedArr': 'array',
  'attachments.nestedArr.__items': 'number',
  'attachments.other': 'string',
  editionsDates: 'array',
  'editionsDates.edition': 'number',
  'editionsDates.date': 'date',
};

export const BOOK_COLLECTIONS: CollectionSpec[] = CRUD_COLLECTIONS.map((spec) =>
  spec.path === '/users'
    ? {
        ...spec,
        fields: { ...spec.fields, ...BOOK_FIELDS },
        textIndex: ['username', 'email', 'name', 'author'],
        // The books collection's other indexes (crud-service tests/collectionDefinitions/books.js) besides the users' unique ones.
        indexes: [...(spec.unique ?? []), 'isbn'],
      }
    : spec,
);
