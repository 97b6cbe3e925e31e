import { InvalidInputError } from '../errors.js';

/** The stated policy, shown to users on the reset page and in every refusal. */
export const PASSWORD_POLICY =
  'at least 8 and at most 128 characters, with at least three of: lower-case letters, upper-case letters, digits, symbols';

/** Throws a 400 stating the policy when a chosen password does not meet it. */
export function assertPasswordPolicy(password: string, field = 'password'): void {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((pattern) => pattern.test(password)).length;
  if (password.length >= 8 && password.length <= 128 && classes >= 3) return;
  throw new InvalidInputError(`${field} must have ${PASSWORD_POLICY}`, [{ path: [field], message: `must have ${PASSWORD_POLICY}` }]);
}
