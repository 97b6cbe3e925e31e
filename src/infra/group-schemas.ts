import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { compileRegex } from '../crud/regex.js';
import addFormatsModule from 'ajv-formats';
import type { GroupConfig } from '../ports/config-store.js';
import { type FieldIssue, InvalidInputError } from '../errors.js';
import { INTERNAL_FIELDS, STANDARD_FIELDS } from '../domain/user-fields.js';
import { useLinearUniqueItems } from './unique-items.js';

// ajv-formats is CommonJS with a `default` export; under NodeNext the function sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/** ajv's regular-expression engine: RE2 through the same checks as `$regex` (length, program size). */
const linearRegExp: NonNullable<NonNullable<Options['code']>['regExp']> = Object.assign(
  (pattern: string) => {
    const compiled = compileRegex({ pattern }, ['crudSchema', 'pattern']);
    return { test: (text: string) => compiled.matcher(text).find() };
  },
  { code: 'linearRegExp' },
);

/** A `format: date` value as the store keeps it: the date's midnight instant (src/crud/field-types.ts). */
const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00:00\.000Z$/;

type DateFormat = { validate: (text: string) => boolean; compare: (a: string, b: string) => number | undefined };

/**
 * `format: date` also accepts the date's midnight instant. The store casts such a field as the CRUD
 * does (`2000-01-02` is kept as `2000-01-02T00:00:00.000Z`), so a PATCH, which validates the user
 * as it will be stored, was refused for every user holding one, whatever it changed.
 */
function acceptStoredDates(ajv: Ajv): void {
  const date = ajv.formats.date as DateFormat;
  const day = (text: string) => MIDNIGHT.exec(text)?.[1] ?? text;
  ajv.addFormat('date', {
    validate: (text: string) => date.validate(day(text)),
    compare: (a: string, b: string) => date.compare(day(a), day(b)),
  });
}

/** Compiled schemas kept at most; the ajv that compiled them is replaced as often. */
const MAX_COMPILED = 1000;

/**
 * The ajv every group schema is compiled with.
 * `pattern` and `patternProperties` run on RE2 (linear time), as `$regex` does: a group schema
 * with `^(a+)+$` held the event loop for seconds per user.
 * `inlineRefs: false`: ajv copied a referenced definition into each use, so 100 `$ref`s to one of
 * 200 properties (a 10 KB schema) compiled 20,000 of them; each definition is now compiled once.
 */
function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, inlineRefs: false, code: { regExp: linearRegExp } });
  addFormats(ajv);
  acceptStoredDates(ajv);
  useLinearUniqueItems(ajv);
  return ajv;
}

/** Compiles group schemas once (keyed by their text) and validates users against them. */
export class GroupSchemas {
  private ajv = newAjv();
  /** Compilations by `ajv`: its code scope keeps each schema and function it made, which `removeSchema()` leaves. */
  private compilations = 0;
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Throws a 400 naming the problem when the schema does not compile. */
  compile(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    const cached = this.compiled.get(key);
    if (cached) return cached;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new InvalidInputError('crudSchema must be a JSON Schema object', [{ path: ['crudSchema'], message: 'must be object' }]);
    }
    // A new ajv every MAX_COMPILED compilations: the old one, and what its scope held, can go once
    // no kept function uses it (a compiled function holds what it needs).
    if (this.compilations >= MAX_COMPILED) [this.ajv, this.compilations] = [newAjv(), 0];
    this.compilations += 1;
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(schema);
    } catch (error) {
      const message = `crudSchema is not a valid JSON Schema: ${(error as Error).message}`;
      throw new InvalidInputError(message, [{ path: ['crudSchema'], message: (error as Error).message }]);
    } finally {
      // ajv keeps every schema it compiled by its `$id` (and every object it compiled, forever): a
      // group with a root `$id` could not be saved with another schema, nor another group with the
      // same `$id`, until a restart. A compiled function holds what it needs; ajv is left with its
      // meta-schemas only.
      this.ajv.removeSchema();
    }
    // An async schema answers a promise that `validate()` would take for a pass (and a rejection nobody handles).
    if ((validate as { $async?: boolean }).$async) {
      throw new InvalidInputError('crudSchema must not be asynchronous ($async)', [
        { path: ['crudSchema', '$async'], message: 'not allowed' },
      ]);
    }
    if (this.compiled.size > MAX_COMPILED) this.compiled.clear();
    this.compiled.set(key, validate);
    return validate;
  }

  /** Validates a user document (as it will be stored) against its group's schema. */
  validateUser(group: GroupConfig, user: Record<string, unknown>): void {
    this.userValidator(group)(user);
  }

  /**
   * validateUser for many users of one group (an import's rows): the compiled schema is found once
   * (its cache key is the schema's JSON text, too dear to build for each of 100,000 rows).
   */
  userValidator(group: GroupConfig): (user: Record<string, unknown>) => void {
    const validate = this.compile(group.crudSchema);
    const declared = (group.crudSchema.properties ?? {}) as Record<string, unknown>;
    return (user) => {
      const subject: Record<string, unknown> = {};
      for (const field of Object.keys(user)) {
        if (INTERNAL_FIELDS.includes(field)) continue;
        if (STANDARD_FIELDS.includes(field) && !Object.hasOwn(declared, field)) continue;
        subject[field] = user[field];
      }
      if (validates(validate, subject, group)) return;
      const issues = (validate.errors ?? []).map(toIssue);
      throw new InvalidInputError(`${issues.map(formatIssue).join(', ')} (user group "${group.userGroup}")`, issues);
    };
  }
}

/**
 * A schema stored before saveUserGroup refused loops (or written by another service) can loop:
 * ajv then recurses until the stack runs out, a 500 on every write of a user holding that field.
 * That is the group's schema's fault, named as such (a 400, as for a stored schema that does not
 * compile), so an administrator knows what to fix.
 */
function validates(validate: ValidateFunction, subject: Record<string, unknown>, group: GroupConfig): boolean {
  try {
    return validate(subject) as boolean;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const problem = 'has a crudSchema that never ends validating (a $ref loop): save the group again with a fixed crudSchema';
    throw new InvalidInputError(`user group "${group.userGroup}" ${problem}`, [{ path: ['body', 'userGroup'], message: problem }]);
  }
}

function toIssue(error: ErrorObject): FieldIssue {
  const path = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') path.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') path.push(String(error.params.additionalProperty));
  return { path: ['body', ...path], message: error.message ?? 'is invalid' };
}

function formatIssue(issue: FieldIssue): string {
  return `${issue.path.join('/')} ${issue.message}`;
}
