import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Deps } from './context.js';
import { GroupConfigInput } from './resolvers/groups.js';
import { StartupError } from './startup.js';

/** Upserts the group configurations of UMS_CONFIG_FILE (a JSON array), checking every schema first. */
export async function seedGroups(deps: Deps, path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new StartupError(`UMS_CONFIG_FILE ${path}: cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StartupError(`UMS_CONFIG_FILE ${path}: not valid JSON (${(error as Error).message})`);
  }
  const result = z.array(GroupConfigInput).safeParse(parsed);
  if (!result.success) {
    throw new StartupError(`UMS_CONFIG_FILE ${path}: ${result.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join(', ')}`);
  }
  for (const group of result.data) {
    try {
      deps.schemas.compile(group.crudSchema);
    } catch (error) {
      throw new StartupError(`UMS_CONFIG_FILE ${path}, group "${group.userGroup}": ${(error as Error).message}`);
    }
  }
  for (const group of result.data) {
    try {
      await deps.groups.saveGroup(group, { actorId: 'ums-config-file', headers: {} });
    } catch (error) {
      // Mostly a CRUD Service that cannot be reached: its message names the call, the variable says where.
      const where = deps.config.UMS_CONFIG_CRUD_ENDPOINT ? ` (CRUD_SERVICE ${deps.config.CRUD_SERVICE})` : '';
      throw new StartupError(`UMS_CONFIG_FILE ${path}, group "${group.userGroup}" could not be saved: ${(error as Error).message}${where}`);
    }
  }
  return result.data.length;
}
