import { useEffect } from 'preact/hooks';
import { checkSession } from './lib/me.js';
import { match, navigate, onLinkClick, route } from './lib/router.js';
import { afterLogin, session } from './lib/session.js';
import { Bulk } from './pages/bulk.js';
import { GroupEdit, Groups } from './pages/groups.js';
import { Jobs } from './pages/jobs.js';
import { Login, logoutNow } from './pages/login.js';
import { Outbox } from './pages/outbox.js';
import { Roles } from './pages/roles.js';
import { UserPage } from './pages/user.js';
import { Users } from './pages/users.js';

const NAV = [
  ['/users', 'Users'],
  ['/groups', 'Groups'],
  ['/roles', 'Roles'],
  ['/bulk', 'Bulk'],
  ['/jobs', 'Jobs'],
  ['/outbox', 'Mail outbox'],
] as const;

/** Whether a menu entry is the page shown: `/admin` itself shows the users list. */
function isCurrent(path: string, to: string): boolean {
  return path === to || path.startsWith(`${to}/`) || (path === '/' && to === '/users');
}

function Page({ path }: { path: string }) {
  if (path === '/' || path === '/users') return <Users />;
  if (path === '/users/new') return <UserPage />;
  const user = match('/users/:id', path);
  if (user) return <UserPage id={user.id!} />;
  if (path === '/groups') return <Groups />;
  if (path === '/groups/new') return <GroupEdit />;
  const group = match('/groups/:name', path);
  if (group) return <GroupEdit name={group.name!} />;
  if (path === '/roles') return <Roles />;
  if (path === '/bulk') return <Bulk />;
  if (path === '/jobs') return <Jobs />;
  if (path === '/outbox') return <Outbox />;
  return (
    <>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        <a href="/admin/users">Go to the users</a>
      </p>
    </>
  );
}

/**
 * The service did not say who is logged in (a proxy's 503, no network): said as such, on the page
 * asked for, never as a login whose session is fine. Whatever the proxy answered is not shown.
 */
function ServiceDown() {
  const retry = () => {
    session.value = { state: 'unknown' };
    void checkSession();
  };
  return (
    <main id="main">
      <h1 tabIndex={-1}>The service is not answering</h1>
      <p role="alert">The console could not reach the User Manager Service. Nothing was changed; try again in a moment.</p>
      <button type="button" onClick={retry}>
        Try again
      </button>
    </main>
  );
}

export function App() {
  useEffect(() => {
    void checkSession();
  }, []);
  const { path } = route.value;
  const current = session.value;
  if (current.state === 'unknown') return <p role="status">Loading…</p>;
  if (current.state === 'down') return <ServiceDown />;
  if (current.state === 'in' && path === '/login') {
    // Already logged in (a bookmark, the back button): on to the page kept, once the login that
    // may have just ended has not moved on by itself.
    queueMicrotask(() => {
      if (route.value.path === '/login') navigate(afterLogin(), { replace: true });
    });
    return <p role="status">Loading…</p>;
  }
  if (current.state === 'anonymous' || path === '/login') {
    return (
      <main id="main" onClick={onLinkClick}>
        <Login notice={current.state === 'anonymous' ? current.notice : undefined} />
      </main>
    );
  }
  return (
    <div onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Console">
          <span class="brand">UMS console</span>
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <a href={`/admin${to}`} aria-current={isCurrent(path, to) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
          <span class="who">{current.name}</span>
          <button type="button" onClick={() => void logoutNow()}>
            Log out
          </button>
        </nav>
      </header>
      <main id="main">
        <Page path={path} />
      </main>
    </div>
  );
}
