/** The users table's columns, and the ones the administrator chose, kept across visits. */
export const COLUMNS = [
  ['username', 'Username'],
  ['email', 'E-mail'],
  ['userGroup', 'Group'],
  ['state', 'State'],
  ['blocked', 'Blocked'],
  ['roles', 'Roles'],
  ['lastLogin', 'Last login'],
  ['createdAt', 'Created'],
  ['expirationDate', 'Expires'],
] as const;

export type Column = (typeof COLUMNS)[number][0];

const KEY = 'ums-console.users.columns';
const DEFAULT: Column[] = ['username', 'email', 'userGroup', 'state', 'blocked'];
const KNOWN = new Set<string>(COLUMNS.map(([name]) => name));

/** Only the column names: localStorage holds no token or personal data. */
export function loadColumns(): Column[] {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as unknown;
    if (Array.isArray(saved)) return saved.filter((name): name is Column => typeof name === 'string' && KNOWN.has(name));
  } catch {
    // A value another version wrote, or storage turned off: the default columns.
  }
  return DEFAULT;
}

export function saveColumns(columns: Column[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(columns));
  } catch {
    // Storage full or off: the choice lasts for this visit only.
  }
}
