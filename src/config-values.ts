import { z } from 'zod';

// The shapes of a variable's value, shared by the groups of variables that config.ts composes.

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');

export const split = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** A comma-separated list of header names (lower-cased) or group names. */
export const list = z
  .string()
  .default('')
  .transform((value) => split(value.toLowerCase()));
/** A comma-separated list kept as written (secrets). */
export const secretList = z.string().default('').transform(split);
export const seconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
