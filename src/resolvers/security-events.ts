import type { Context } from '../context.js';

/**
 * The security events a log pipeline can alert on: one JSON line each, with a stable `event`
 * field (docs/observability.md lists them and their fields). They never carry a secret: no
 * password, token, ticket or cookie, only ids, the name typed at a login, and the client address.
 */
export type SecurityEvent =
  | 'login.succeeded'
  | 'login.failed'
  | 'login.lockout'
  | 'account.unlocked'
  | 'password_reset.requested'
  | 'password_reset.completed'
  | 'password.changed'
  | 'session.revoked'
  | 'role.changed'
  | 'admin.created';

/** Failures are warnings (a burst of them is an attack); the rest are facts worth keeping (info). */
const WARNINGS: ReadonlySet<SecurityEvent> = new Set(['login.failed', 'login.lockout']);

/** Longer text is cut: the name typed at a login is the client's, and was logged whole (1 MB a request). */
const MAX_FIELD_CHARACTERS = 256;

export function securityEvent(ctx: Context, event: SecurityEvent, fields: Record<string, unknown> = {}): void {
  const level = WARNINGS.has(event) ? 'warn' : 'info';
  const bounded = Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, bound(value)]));
  ctx.deps.logger[level]({ event, actor: ctx.scope.actorId, ip: ctx.ip, ...bounded }, event);
}

function bound(value: unknown): unknown {
  if (typeof value !== 'string' || value.length <= MAX_FIELD_CHARACTERS) return value;
  return `${value.slice(0, MAX_FIELD_CHARACTERS)}… (${value.length} characters)`;
}

/** Whether a user group makes its users administrators (ADMIN_GROUPS). */
export function isAdminGroup(ctx: Context, userGroup: unknown): boolean {
  return typeof userGroup === 'string' && ctx.deps.config.ADMIN_GROUPS.includes(userGroup);
}

/** A new user in one of ADMIN_GROUPS (the bootstrap administrator included). */
export function adminCreated(ctx: Context, userId: string, profile: { userGroup: string; username?: unknown }): void {
  if (isAdminGroup(ctx, profile.userGroup))
    securityEvent(ctx, 'admin.created', { userId, userGroup: profile.userGroup, username: profile.username });
}
