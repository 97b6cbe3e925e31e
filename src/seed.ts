import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Deps } from './context.js';
import { GroupConfigInput } from './resolvers/groups.js';

/** Upserts the group configurations of UMS_CONFIG_FILE (a JSON array), checking every schema first. */
export async function seedGroups(deps: Deps, path: string): Promise<number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`UMS_CONFIG_FILE ${path}: ${(error as Error).message}`);
  }
  const result = z.array(GroupConfigInput).safeParse(parsed);
  if (!result.success) {
    throw new Error(`UMS_CONFIG_FILE ${path}: ${result.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join(', ')}`);
  }
  for (const group of result.data) {
    try {
      deps.schemas.compile(group.crudSchema);
    } catch (error) {
      throw new Error(`UMS_CONFIG_FILE ${path}, group "${group.userGroup}": ${(error as Error).message}`);
    }
  }
  for (const group of result.data) await deps.groups.saveGroup(group, { actorId: 'ums-config-file', headers: {} });
  return result.data.length;
}
