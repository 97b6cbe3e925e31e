import { randomUUID } from 'node:crypto';
import type { Binding, Role, RoleAdmin, RoleBinder } from '../ports/role-binder.js';
import type { Db } from './db.js';

interface BindingRow {
  binding_id: string;
  subjects: string;
  roles: string;
  groups_: string;
  permissions: string;
}

/** Roles and bindings in the embedded store, shaped like Rönd's collections. */
export class EmbeddedRoles implements RoleBinder, RoleAdmin {
  constructor(private readonly db: Db) {}

  async grant(subject: string, roles: string[]): Promise<void> {
    this.db
      .prepare('INSERT INTO bindings (binding_id, subjects, roles, groups_, permissions) VALUES (?, ?, ?, ?, ?)')
      .run(randomUUID(), JSON.stringify([subject]), JSON.stringify(roles), '[]', '[]');
  }

  /** Like Rönd's revoke: the subject leaves every binding; bindings left with nobody are deleted. */
  async revoke(subject: string): Promise<void> {
    this.db.transaction(() => {
      for (const binding of this.bindingsOf(subject)) {
        const subjects = binding.subjects.filter((s) => s !== subject);
        if (subjects.length === 0 && binding.groups.length === 0) {
          this.db.prepare('DELETE FROM bindings WHERE binding_id = ?').run(binding.bindingId);
        } else {
          this.db.prepare('UPDATE bindings SET subjects = ? WHERE binding_id = ?').run(JSON.stringify(subjects), binding.bindingId);
        }
      }
    })();
  }

  async permissionsOf(roles: string[]): Promise<string[]> {
    const rows = this.db
      .prepare<[string], { permissions: string }>('SELECT permissions FROM roles WHERE role_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(roles));
    return [...new Set(rows.flatMap((row) => JSON.parse(row.permissions) as string[]))].sort();
  }

  async listRoles(): Promise<Role[]> {
    return this.db
      .prepare<[], { role_id: string; name: string; permissions: string }>('SELECT * FROM roles ORDER BY role_id')
      .all()
      .map((row) => ({ roleId: row.role_id, name: row.name, permissions: JSON.parse(row.permissions) as string[] }));
  }

  async saveRole(role: Role): Promise<Role> {
    this.db
      .prepare(
        'INSERT INTO roles (role_id, name, permissions) VALUES (?, ?, ?) ON CONFLICT (role_id) DO UPDATE SET name = excluded.name, permissions = excluded.permissions',
      )
      .run(role.roleId, role.name, JSON.stringify(role.permissions));
    return role;
  }

  async deleteRole(roleId: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM roles WHERE role_id = ?').run(roleId).changes > 0;
  }

  async listBindings(subject?: string): Promise<Binding[]> {
    return subject !== undefined
      ? this.bindingsOf(subject)
      : this.db.prepare<[], BindingRow>('SELECT * FROM bindings').all().map(toBinding);
  }

  private bindingsOf(subject: string): Binding[] {
    return this.db
      .prepare<[string], BindingRow>('SELECT * FROM bindings WHERE EXISTS (SELECT 1 FROM json_each(bindings.subjects) WHERE value = ?)')
      .all(subject)
      .map(toBinding);
  }
}

function toBinding(row: BindingRow): Binding {
  return {
    bindingId: row.binding_id,
    subjects: JSON.parse(row.subjects) as string[],
    roles: JSON.parse(row.roles) as string[],
    groups: JSON.parse(row.groups_) as string[],
    permissions: JSON.parse(row.permissions) as string[],
  };
}
