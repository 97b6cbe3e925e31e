import { request, RequestError } from './client.js';
import { graphql } from './graphql.js';
import { navigate, route } from './router.js';
import { session } from './session.js';

/** `me` answered that nobody is logged in. */
class NotLoggedIn extends Error {}

const ME = graphql(`
  query Me {
    me {
      __typename
      ... on QueryMeSuccess {
        data {
          admin
          authUserId
          userinfo
        }
      }
    }
  }
`);

/**
 * Who is logged in: asked at start and after a login (the sid cookie itself is HttpOnly). A user
 * who is not an administrator is sent back to the login page with a notice.
 */
export async function checkSession(): Promise<void> {
  try {
    const { me } = await request(ME, {});
    if (me.__typename !== 'QueryMeSuccess') throw new NotLoggedIn();
    const info = me.data.userinfo;
    const name = typeof info.username === 'string' ? info.username : typeof info.email === 'string' ? info.email : 'administrator';
    session.value = me.data.admin
      ? { state: 'in', name, authUserId: me.data.authUserId ?? undefined }
      : { state: 'anonymous', notice: `${name} is not an administrator.` };
  } catch (caught) {
    // Only a refused or absent session is a login; an outage (a proxy's 503, no network, the
    // identity provider down) once sent the administrator to the login page, which failed too.
    if (!(caught instanceof NotLoggedIn) && !(caught instanceof RequestError && caught.code === 'UNAUTHORIZED')) {
      session.value = { state: 'down' };
      return;
    }
    session.value = { state: 'anonymous' };
  }
  if (session.value.state === 'anonymous' && route.value.path !== '/login') {
    const { path, search } = route.value;
    navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
  }
}
