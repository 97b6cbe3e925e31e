/** Roles and their bindings to users (Rönd, or the embedded store). */
import type { CallScope } from './call-scope.js';

export interface Role {
  roleId: string;
  name: string;
  permissions: string[];
}

export interface Binding {
  bindingId: string;
  subjects: string[];
  roles: string[];
  groups: string[];
  permissions: string[];
}

/** Roles of users, as Rönd bindings whose subject is the user's `authUserId`. */
export interface RoleBinder {
  /** Creates a binding of these roles for the subject. */
  grant(subject: string, roles: string[], scope: CallScope): Promise<void>;
  /** Removes the subject from every binding (bindings left empty are deleted). */
  revoke(subject: string, scope: CallScope): Promise<void>;
  /** The union of the permissions of these roles. */
  permissionsOf(roles: string[], scope: CallScope): Promise<string[]>;
}

/** Managing roles and bindings where the service stores them itself (the embedded model). */
export interface RoleAdmin {
  listRoles(): Promise<Role[]>;
  saveRole(role: Role): Promise<Role>;
  deleteRole(roleId: string): Promise<boolean>;
  listBindings(subject?: string): Promise<Binding[]>;
}
