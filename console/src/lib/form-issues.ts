/** Where the service's issues (`InvalidInputError.issues`) show on a form. */

/** The service's issues by the form field they name (`["body", "age"]`, `["input", "email"]`…). */
export function issuesByField(issues: { path: string[]; message: string }[], names: string[]): Map<string, string> {
  const byField = new Map<string, string>();
  for (const issue of issues) {
    const name = [...issue.path].reverse().find((segment) => names.includes(segment));
    if (name && !byField.has(name)) byField.set(name, issue.message);
  }
  return byField;
}

export const FIX_FIELDS = 'Some fields need a fix: see the messages next to them.';

/**
 * The message above the form. The service's own text names fields by API path (`input/email: …`,
 * `body/age must be >= 0 (user group "x")`): when every issue is shown next to its field, a pointer
 * to them; else the other issues in the service's words, without the path; else its message.
 */
export function summaryOf(answer: { message: string; issues: { path: string[]; message: string }[] }, names: string[]): string {
  if (answer.issues.length === 0) return answer.message;
  const others = answer.issues.filter((issue) => !issue.path.some((segment) => names.includes(segment)));
  if (others.length === 0) return FIX_FIELDS;
  const words = [...new Set(others.map((issue) => issue.message))].join('; ');
  return others.length < answer.issues.length ? `${words}. ${FIX_FIELDS}` : words;
}

const TAKEN = { username: 'Another user has this username.', email: 'Another user has this e-mail.' } as const;

/**
 * A conflict the service answers without issues ("A user with the same email already exists",
 * of the profile or of the identity) as an issue of the field it names, so it shows next to it.
 */
export function conflictIssues(message: string): { path: string[]; message: string }[] {
  const field = /\bsame (username|email) already exists/.exec(message)?.[1] as keyof typeof TAKEN | undefined;
  return field ? [{ path: [field], message: TAKEN[field] }] : [];
}

/**
 * A refusal in words. The service's own text is kept, except where it speaks of its internals:
 * USER_BUSY ("user 6b16… is being changed by another request") names the user by its id.
 */
export function refusalInWords(answer: { code?: string; message?: string }): string {
  if (answer.code === 'USER_BUSY') return 'Another change to this user is still running: nothing was changed. Try again in a moment.';
  return answer.message ?? 'The service refused';
}
