import { z } from 'zod';
import type { CallScope } from '../../ports/call-scope.js';
import type { ConfigStore, GroupConfig } from '../../ports/config-store.js';
import { ALL_STATES } from '../../crud/states.js';
import { UpstreamError } from '../../errors.js';
import type { CrudCollection, CrudDoc } from './collection.js';
import { namesADocument } from '../path-segment.js';

const GroupDoc = z.looseObject({
  _id: z.string(),
  userGroup: z.string(),
  label: z.string().default(''),
  crudSchema: z.record(z.string(), z.unknown()),
  authUserCreationDisabled: z.boolean().optional(),
});

/** The `ums-config` collection in a Mia-Platform CRUD Service. */
export function createCrudConfigStore(groups: CrudCollection): ConfigStore {
  async function findDoc(userGroup: string): Promise<z.infer<typeof GroupDoc> | undefined> {
    if (!namesADocument(userGroup)) return undefined;
    const [doc] = await groups.list({ _q: JSON.stringify({ userGroup }), _l: '1' }, {});
    return doc && parse(doc);
  }

  return {
    async getGroup(userGroup) {
      const doc = await findDoc(userGroup);
      return doc && toGroup(doc);
    },
    async listGroups() {
      return (await groups.list({ _l: '200', _s: 'userGroup' }, {})).map((doc) => toGroup(parse(doc)));
    },
    async saveGroup(group: GroupConfig, scope: CallScope) {
      const existing = await findDoc(group.userGroup);
      const fields = { label: group.label, crudSchema: group.crudSchema, authUserCreationDisabled: group.authUserCreationDisabled };
      if (existing) await groups.patch(existing._id, { $set: fields }, ALL_STATES, scope.headers);
      else await groups.create({ userGroup: group.userGroup, ...fields, __STATE__: 'PUBLIC' }, scope.headers);
      return group;
    },
    async deleteGroup(userGroup) {
      const existing = await findDoc(userGroup);
      return existing ? groups.delete(existing._id, ALL_STATES, {}) : false;
    },
  };
}

function parse(doc: CrudDoc): z.infer<typeof GroupDoc> {
  const result = GroupDoc.safeParse(doc);
  if (!result.success)
    throw new UpstreamError('CRUD', 'GET ums-config', 200, { message: `CRUD ums-config document ${doc._id} is not a group configuration` });
  return result.data;
}

function toGroup(doc: z.infer<typeof GroupDoc>): GroupConfig {
  return {
    userGroup: doc.userGroup,
    label: doc.label,
    crudSchema: doc.crudSchema,
    authUserCreationDisabled: doc.authUserCreationDisabled === true,
  };
}
