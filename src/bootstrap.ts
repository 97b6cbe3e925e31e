import type { Deps } from './context.js';
import { ALL_STATES } from './crud/states.js';
import { systemContext } from './context.js';
import { randomPassword } from './resolvers/random-password.js';
import { createUser } from './resolvers/create-user.js';
import { assertPasswordPolicy, PASSWORD_POLICY } from './domain/password-policy.js';
import { StartupError } from './startup.js';

/**
 * The administrators' profile: a name, and no other field. A closed schema, so that a store whose
 * groups all close their fields still answers a query on an unknown field with the CRUD's 400
 * (docs/decisions.md); an operator adds fields with saveUserGroup.
 */
const ADMIN_SCHEMA = { type: 'object', properties: { name: { type: 'string', maxLength: 200 } }, additionalProperties: false };

/**
 * First start on an empty embedded store: an administrator, so someone can log in and call the API.
 * Its password is BOOTSTRAP_ADMIN_PASSWORD, or generated and printed once.
 */
export async function bootstrapAdmin(deps: Deps, print: (line: string) => void): Promise<boolean> {
  const { config } = deps;
  // Only on the embedded default: a connected CRUD Service or Auth0 tenant is never written to
  // unasked (administrators there use API keys or existing admin users).
  if (config.ACCESS_CONTROL !== 'builtin' || config.AUTH_MODULE !== 'embedded' || config.USERS_CRUD_ENDPOINT) return false;
  // Checked on every start, not only the first: a weak value is a configuration error either way.
  if (config.BOOTSTRAP_ADMIN_PASSWORD !== undefined) {
    try {
      assertPasswordPolicy(config.BOOTSTRAP_ADMIN_PASSWORD);
    } catch {
      throw new StartupError(`BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy: it must have ${PASSWORD_POLICY}`);
    }
  }
  const existing = await deps.users.count({ _st: ALL_STATES.join(',') }, { actorId: 'bootstrap', headers: {} });
  if (existing > 0) return false;
  const userGroup = config.ADMIN_GROUPS[0] ?? 'admin';
  const ctx = systemContext(deps, 'bootstrap');
  if (!(await deps.groups.getGroup(userGroup))) {
    await deps.groups.saveGroup(
      { userGroup, label: 'Administrators', crudSchema: ADMIN_SCHEMA, authUserCreationDisabled: false },
      ctx.scope,
    );
  }
  const password = config.BOOTSTRAP_ADMIN_PASSWORD ?? randomPassword(20);
  const withPassword = { ...deps, config: { ...config, RANDOM_PWD_GEN: false } };
  await createUser(
    { ...ctx, deps: withPassword },
    { userGroup, username: config.BOOTSTRAP_ADMIN_USERNAME, password },
    { sendResetPwdEmail: false },
  );
  if (!config.BOOTSTRAP_ADMIN_PASSWORD) {
    print(
      `Administrator created: username "${config.BOOTSTRAP_ADMIN_USERNAME}", password "${password}" (shown once; change it with the changeOwnPassword mutation, see the README).`,
    );
  }
  return true;
}
