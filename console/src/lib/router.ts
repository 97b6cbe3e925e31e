import { signal } from '@preact/signals';

/** The console lives under /admin; routes are the rest of the path, e.g. "/users/42". */
export const BASE = '/admin';

const current = () => location.pathname.slice(BASE.length) || '/';

/** The current route and its query string, e.g. { path: "/users", search: "?group=x" }. */
export const route = signal({ path: current(), search: location.search });

/**
 * Goes to a route. `state` is kept with the history entry (a reload or the back button finds it in
 * `history.state`). The focus moves to the new page's heading, so screen readers announce it, only
 * when the page changes: a filter or a page of the same list keeps the focus where the user is.
 */
export function navigate(to: string, options: { replace?: boolean; state?: unknown } = {}): void {
  const url = `${BASE}${to}`;
  const before = route.value.path;
  if (options.replace) history.replaceState(options.state ?? null, '', url);
  else history.pushState(options.state ?? null, '', url);
  route.value = { path: current(), search: location.search };
  if (route.value.path !== before) queueMicrotask(() => document.querySelector<HTMLElement>('main h1')?.focus());
}

addEventListener('popstate', () => {
  route.value = { path: current(), search: location.search };
});

/** A click on an in-console link changes the route without reloading the page. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest('a');
  if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const href = anchor.getAttribute('href');
  if (!href?.startsWith(`${BASE}/`) || anchor.hasAttribute('download') || anchor.target) return;
  event.preventDefault();
  navigate(href.slice(BASE.length));
}

/** Matches a route pattern such as "/users/:id"; answers the parameters, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of want.entries()) {
    const value = got[index] ?? '';
    if (part.startsWith(':')) {
      const decoded = decodeOr(value);
      if (decoded === undefined) return undefined;
      params[part.slice(1)] = decoded;
    } else if (part !== value) return undefined;
  }
  return params;
}

/** A path segment decoded, or undefined for a malformed escape (`%E0`): no route, not a blank page. */
function decodeOr(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
