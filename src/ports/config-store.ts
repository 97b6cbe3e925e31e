/** The group configurations: the `ums-config` collection (CRUD Service, or the embedded store). */
import type { CallScope } from './call-scope.js';

/** A document of the `ums-config` collection: one per user group. */
export interface GroupConfig {
  userGroup: string;
  label: string;
  crudSchema: Record<string, unknown>;
  authUserCreationDisabled: boolean;
}

export interface ConfigStore {
  getGroup(userGroup: string): Promise<GroupConfig | undefined>;
  listGroups(): Promise<GroupConfig[]>;
  /** Inserts or replaces the group's document. */
  saveGroup(group: GroupConfig, scope: CallScope): Promise<GroupConfig>;
  /** True when a group was deleted. */
  deleteGroup(userGroup: string): Promise<boolean>;
}
