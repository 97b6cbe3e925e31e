import type { CallScope } from '../../ports/call-scope.js';
import type { RoleBinder } from '../../ports/role-binder.js';
import type { CrudCollection } from '../crud/collection.js';
import { callUpstream, type UpstreamCall, type UpstreamOptions, unexpectedStatus } from '../http.js';

/**
 * Roles through Rönd's standalone API: `POST /grant/bindings` with the user's `authUserId` as the
 * subject, `POST /revoke/bindings` for it; permissions read from the roles collection
 * (`ROLES_CRUD_ENDPOINT`) through the CRUD client.
 */
export function createRondBinder(rond: UpstreamOptions, roles: CrudCollection | undefined): RoleBinder {
  async function post(call: UpstreamCall): Promise<void> {
    const reply = await callUpstream(rond, call);
    if (reply.status !== 200 && reply.status !== 201) throw unexpectedStatus(rond, call, reply);
  }
  return {
    async grant(subject: string, roleIds: string[], scope: CallScope) {
      await post({
        method: 'POST',
        path: '/grant/bindings',
        body: { subjects: [subject], groups: [], roles: roleIds, permissions: [] },
        headers: scope.headers,
      });
    },
    async revoke(subject: string, scope: CallScope) {
      await post({ method: 'POST', path: '/revoke/bindings', body: { subjects: [subject] }, headers: scope.headers });
    },
    async permissionsOf(roleIds: string[], scope: CallScope) {
      if (!roles) return [];
      const docs = await roles.list({ _q: JSON.stringify({ roleId: { $in: roleIds } }), _l: '200' }, scope.headers);
      return [...new Set(docs.flatMap((doc) => (Array.isArray(doc.permissions) ? doc.permissions.map(String) : [])))].sort();
    },
  };
}
