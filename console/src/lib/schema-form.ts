/**
 * The profile form of a user, generated from its group's `crudSchema` (a JSON Schema): one field
 * per property the group defines, typed, required and constrained as the schema says. Pure
 * functions, unit-tested in test/unit/console-schema-form.test.ts.
 */

/** Fields the service manages itself: edited by their own controls, never by the group's form. */
const MANAGED = new Set(['userGroup', 'authUserId', 'username', 'email', 'blocked', 'roles', 'expirationDate', 'expirationId']);
const INTERNAL = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId']);
/** Names that would reach an object's prototype if used as keys: never a form field. */
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

export type Scalar = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'date' | 'date-time' | 'email';

export interface FormField {
  name: string;
  label: string;
  description?: string;
  required: boolean;
  /** A scalar input, a list of scalars (one per line, or checkboxes for an enum), or raw JSON. */
  kind: Scalar | 'array' | 'json';
  /** For arrays: the kind of each item. */
  items?: Scalar | 'json';
  options?: string[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/** A form value: text for inputs, a boolean for checkboxes, the chosen options of an enum array. */
export type FormValue = string | boolean | string[];

type Schema = Record<string, unknown>;
const isObject = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (object: Schema, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

/** The form fields of a group schema, in the schema's order; managed and internal fields left out. */
export function formFields(crudSchema: unknown): FormField[] {
  if (!isObject(crudSchema)) return [];
  const properties = own(crudSchema, 'properties');
  if (!isObject(properties)) return [];
  const required = new Set(Array.isArray(crudSchema.required) ? crudSchema.required.filter((name) => typeof name === 'string') : []);
  return Object.keys(properties)
    .filter((name) => !MANAGED.has(name) && !INTERNAL.has(name) && !UNSAFE.has(name))
    .map((name) => field(name, own(properties, name), required.has(name)));
}

function field(name: string, schema: unknown, required: boolean): FormField {
  const property = isObject(schema) ? schema : {};
  const title = own(property, 'title');
  const description = own(property, 'description');
  const base: FormField = {
    name,
    label: typeof title === 'string' && title ? title : humanize(name),
    required,
    kind: 'json',
    ...(typeof description === 'string' && { description }),
  };
  if (typeOf(property) === 'array') {
    const items = isObject(property.items) ? property.items : {};
    const item = scalarKind(items);
    return { ...base, kind: 'array', items: item ?? 'json', ...(item === 'enum' && { options: enumOptions(items) }) };
  }
  const kind = scalarKind(property);
  if (!kind) return base;
  return { ...base, kind, ...constraints(property), ...(kind === 'enum' && { options: enumOptions(property) }) };
}

function typeOf(schema: Schema): string | undefined {
  const type = own(schema, 'type');
  if (typeof type === 'string') return type;
  // ["string", "null"]: a nullable scalar is still that scalar in a form.
  if (Array.isArray(type)) return type.find((entry) => entry !== 'null');
  return undefined;
}

function scalarKind(schema: Schema): Scalar | undefined {
  if (Array.isArray(own(schema, 'enum'))) return 'enum';
  const type = typeOf(schema);
  const format = own(schema, 'format');
  if (type === 'string') return format === 'date' || format === 'date-time' || format === 'email' ? format : 'string';
  if (type === 'number' || type === 'integer' || type === 'boolean') return type;
  return undefined;
}

function enumOptions(schema: Schema): string[] {
  const values = own(schema, 'enum');
  return Array.isArray(values) ? values.filter((value) => value !== null).map(String) : [];
}

function constraints(schema: Schema): Partial<FormField> {
  const pick = (key: string) => (typeof own(schema, key) === 'number' ? (own(schema, key) as number) : undefined);
  const pattern = own(schema, 'pattern');
  const out: Partial<FormField> = {};
  const min = pick('minimum');
  const max = pick('maximum');
  const minLength = pick('minLength');
  const maxLength = pick('maxLength');
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  if (minLength !== undefined) out.minLength = minLength;
  if (maxLength !== undefined) out.maxLength = maxLength;
  if (typeof pattern === 'string') out.pattern = pattern;
  return out;
}

/** "firstName" or "first_name" → "First name". */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The form's values for a stored profile. */
export function toFormValues(fields: FormField[], properties: Record<string, unknown>): Map<string, FormValue> {
  const values = new Map<string, FormValue>();
  for (const field of fields) values.set(field.name, toFormValue(field, own(properties, field.name)));
  return values;
}

function toFormValue(field: FormField, value: unknown): FormValue {
  if (field.kind === 'boolean') return value === true;
  if (value === undefined || value === null) return field.kind === 'array' && field.items === 'enum' ? [] : '';
  if (field.kind === 'array') {
    const list = Array.isArray(value) ? value : [value];
    if (field.items === 'enum') return list.map(String);
    return list.map((item) => (field.items === 'json' ? JSON.stringify(item) : String(item))).join('\n');
  }
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  if (field.kind === 'date') return String(value).slice(0, 10);
  if (field.kind === 'date-time') return toLocalInput(String(value));
  return String(value);
}

/** An ISO date-time as a `datetime-local` input shows it (UTC, to the minute). */
function toLocalInput(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().slice(0, 16);
}

export interface Parsed {
  /** The properties to send: empty optional fields are left out (and listed in `cleared`). */
  properties: Record<string, unknown>;
  cleared: string[];
  /** Problems found before sending, by field name: the form shows each next to its field. */
  errors: Map<string, string>;
}

/** Reads the form back into typed properties; the server validates again against the schema. */
export function fromFormValues(fields: FormField[], values: Map<string, FormValue>): Parsed {
  const parsed: Parsed = { properties: Object.create(null) as Record<string, unknown>, cleared: [], errors: new Map() };
  for (const field of fields) {
    const raw = values.get(field.name);
    const empty = raw === undefined || raw === '' || (Array.isArray(raw) && raw.length === 0 && field.items !== 'enum');
    if (empty && field.kind !== 'boolean') {
      if (field.required) parsed.errors.set(field.name, 'is required');
      else parsed.cleared.push(field.name);
      continue;
    }
    try {
      parsed.properties[field.name] = fromFormValue(field, raw!);
    } catch (error) {
      parsed.errors.set(field.name, (error as Error).message);
    }
  }
  return parsed;
}

function fromFormValue(field: FormField, raw: FormValue): unknown {
  if (field.kind === 'boolean') return raw === true;
  if (field.kind === 'array') {
    if (Array.isArray(raw)) return raw;
    const lines = String(raw)
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    return lines.map((line) => scalar(field.items ?? 'string', line));
  }
  return scalar(field.kind, String(raw));
}

function scalar(kind: Scalar | 'json', text: string): unknown {
  if (kind === 'number' || kind === 'integer') {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new Error('must be a number');
    if (kind === 'integer' && !Number.isInteger(value)) throw new Error('must be a whole number');
    return value;
  }
  if (kind === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error('must be valid JSON');
    }
  }
  if (kind === 'date-time') {
    const date = new Date(text.length === 16 ? `${text}:00Z` : text);
    if (Number.isNaN(date.getTime())) throw new Error('must be a date and time');
    return date.toISOString();
  }
  if (kind === 'boolean') return text === 'true';
  return text;
}
