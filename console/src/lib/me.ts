import { request } from './client.js';
import { graphql } from './graphql.js';
import { navigate, route } from './router.js';
import { session } from './session.js';

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
    if (me.__typename !== 'QueryMeSuccess') throw new Error('anonymous');
    const info = me.data.userinfo;
    const name = typeof info.username === 'string' ? info.username : typeof info.email === 'string' ? info.email : 'administrator';
    session.value = me.data.admin
      ? { state: 'in', name, authUserId: me.data.authUserId ?? undefined }
      : { state: 'anonymous', notice: `${name} is not an administrator.` };
  } catch {
    session.value = { state: 'anonymous' };
  }
  if (session.value.state === 'anonymous' && route.value.path !== '/login') {
    const { path, search } = route.value;
    navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
  }
}
