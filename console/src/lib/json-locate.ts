/**
 * Where a problem is in a JSON text the administrator typed: the character offset of a parse
 * error, or of the key a JSON Schema error's pointer names (`data/properties/age/type`), so the
 * editor can put the caret there. Pure; unit-tested with the schema-to-form mapping.
 */
export interface Located {
  message: string;
  /** Offset in the text, when it could be found. */
  at?: number;
  /** 1-based line and column of `at`. */
  line?: number;
  column?: number;
}

export function lineAndColumn(text: string, at: number): { line: number; column: number } {
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Parses the text; answers the value, or where and why it is not JSON. */
export function parseJson(text: string): { value: unknown } | { error: Located } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (!position) return { error: { message } };
    const at = Number(position[1]);
    // The place is said by the console (line and column); the engine's own was said twice beside it.
    const said = message.replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, '');
    return { error: { message: said, at, ...lineAndColumn(text, at) } };
  }
}

/** The offset of the key a pointer like `/properties/age/type` names, found by its keys in order. */
export function locatePointer(text: string, pointer: string): number | undefined {
  let from = 0;
  let found: number | undefined;
  for (const segment of pointer.split('/').filter(Boolean)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(key)) continue;
    const at = text.indexOf(JSON.stringify(key), from);
    if (at < 0) return found;
    found = at;
    from = at + key.length + 2;
  }
  return found;
}

/** A schema error from the service, located in the text when its message names a pointer. */
export function locateSchemaError(text: string, message: string): Located {
  const pointer = /data((?:\/[^\s,/]+)+)/.exec(message)?.[1];
  const at = pointer ? locatePointer(text, pointer) : undefined;
  return at === undefined ? { message } : { message, at, ...lineAndColumn(text, at) };
}
