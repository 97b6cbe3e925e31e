import { useEffect } from 'preact/hooks';
import { request } from './lib/client.js';
import { graphql } from './lib/graphql.js';
import { match, navigate, onLinkClick, route } from './lib/router.js';
import { session } from './lib/session.js';
import { Bulk } from './pages/bulk.js';
import { GroupEdit, Groups } from './pages/groups.js';
import { Jobs } from './pages/jobs.js';
import { Login, logoutNow } from './pages/login.js';
import { Outbox } from './pages/outbox.js';
import { UserPage } from './pages/user.js';
import { Users } from './pages/users.js';

const ME = graphql(`
  query Me {
    me {
      __typename
      ... on QueryMeSuccess {
        data {
          admin
          userinfo
        }
      }
    }
  }
`);

const NAV = [
  ['/users', 'Users'],
  ['/groups', 'Groups'],
  ['/bulk', 'Bulk'],
  ['/jobs', 'Jobs'],
  ['/outbox', 'Mail outbox'],
] as const;

/** Who is logged in: asked once at start; the sid cookie itself is HttpOnly. */
async function checkSession(): Promise<void> {
  try {
    const { me } = await request(ME, {});
    if (me.__typename !== 'QueryMeSuccess') throw new Error('anonymous');
    const info = me.data.userinfo;
    const name = typeof info.username === 'string' ? info.username : typeof info.email === 'string' ? info.email : 'administrator';
    session.value = me.data.admin ? { state: 'in', name } : { state: 'anonymous', notice: `${name} is not an administrator.` };
  } catch {
    session.value = { state: 'anonymous' };
  }
  if (session.value.state === 'anonymous' && route.value.path !== '/login') {
    const { path, search } = route.value;
    navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
  }
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

export function App() {
  useEffect(() => {
    void checkSession();
  }, []);
  const { path } = route.value;
  const current = session.value;
  if (current.state === 'unknown') return <p role="status">Loading…</p>;
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
                <a href={`/admin${to}`} aria-current={path.startsWith(to) ? 'page' : undefined}>
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
