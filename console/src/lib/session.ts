import { signal } from '@preact/signals';
import { BASE, navigate, route } from './router.js';

/** `down`: the service did not answer who is logged in (an outage, a proxy's 503), which says nothing of the session. */
export type Session =
  { state: 'unknown' } | { state: 'down' } | { state: 'anonymous'; notice?: string } | { state: 'in'; name: string; authUserId?: string };

export const session = signal<Session>({ state: 'unknown' });

/**
 * The sid cookie is HttpOnly: the console cannot read it, only notice when the service refuses it.
 * Then it goes to the login page, keeping the page the user was on to come back to after login.
 */
export function sessionEnded(): void {
  if (session.value.state === 'anonymous') return;
  session.value = { state: 'anonymous', notice: 'Your session has ended. Log in again to continue.' };
  const { path, search } = route.value;
  if (path !== '/login') navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
}

/** Where to go after a login: the kept page, if it is one of the console's. */
export function afterLogin(): string {
  const next = new URLSearchParams(route.value.search).get('next');
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/users';
}

export const consoleUrl = (path: string) => `${BASE}${path}`;

/** Whether this identity is the logged-in administrator's own. */
export const isOwnAccount = (authUserId: string | null): boolean =>
  authUserId !== null && session.value.state === 'in' && session.value.authUserId === authUserId;
