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

/**
 * Where to go after a login: the kept page, if it is one of the console's. It is resolved as the
 * browser will resolve it: `next=/../../graphql?…` once left `/admin` for another path of the
 * service (dot segments), shown in the address bar and loaded by the next reload.
 */
export function afterLogin(): string {
  const next = new URLSearchParams(route.value.search).get('next');
  if (!next?.startsWith('/') || next.startsWith('//')) return '/users';
  const target = new URL(`${BASE}${next}`, location.origin);
  const path = target.pathname.slice(BASE.length);
  const inside = target.origin === location.origin && target.pathname.startsWith(`${BASE}/`);
  return inside && !path.startsWith('/login') ? `${path}${target.search}` : '/users';
}

export const consoleUrl = (path: string) => `${BASE}${path}`;

/** Whether this identity is the logged-in administrator's own. */
export const isOwnAccount = (authUserId: string | null): boolean =>
  authUserId !== null && session.value.state === 'in' && session.value.authUserId === authUserId;
