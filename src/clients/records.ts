/** The `names` that `source` has (and are not undefined), as they are. */
export function pick(source: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (source[name] !== undefined) picked[name] = source[name];
  return picked;
}

/** One entry per id, in the ids' order: `read` of the id's record, undefined when there is none. */
export function inIdOrder<T, R>(ids: readonly string[], found: ReadonlyMap<string, T>, read: (record: T) => R): (R | undefined)[] {
  return ids.map((id) => {
    const record = found.get(id);
    return record === undefined ? undefined : read(record);
  });
}
