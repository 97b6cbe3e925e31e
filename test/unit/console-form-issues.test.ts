import { describe, expect, it } from 'vitest';
import { conflictIssues, FIX_FIELDS, summaryOf } from '../../console/src/lib/form-issues.js';

describe("the user form's message above the fields", () => {
  const names = ['age', 'email', 'username'];

  it('points to the fields when every issue is shown next to one, never the API path', () => {
    const answer = {
      message: 'body/age must be >= 0 (user group "customer")',
      issues: [{ path: ['body', 'age'], message: 'must be >= 0' }],
    };
    expect(summaryOf(answer, names)).toBe(FIX_FIELDS);
  });

  it('says in words what no field shows, and points to the fields that do', () => {
    const answer = {
      message: 'body must NOT have additional properties, body/age must be >= 0',
      issues: [
        { path: ['body', 'nickname'], message: 'must NOT have additional properties' },
        { path: ['body', 'age'], message: 'must be >= 0' },
      ],
    };
    expect(summaryOf(answer, names)).toBe(`must NOT have additional properties. ${FIX_FIELDS}`);
    expect(summaryOf({ ...answer, issues: answer.issues.slice(0, 1) }, names)).toBe('must NOT have additional properties');
  });

  it("keeps the service's message when it names no issue", () => {
    expect(summaryOf({ message: 'A user with the same username already exists', issues: [] }, names)).toBe(
      'A user with the same username already exists',
    );
  });

  it('reads a taken username or e-mail as an issue of that field, and nothing else', () => {
    expect(conflictIssues('A user with the same username already exists')).toEqual([
      { path: ['username'], message: 'Another user has this username.' },
    ]);
    expect(conflictIssues('An identity user with the same email already exists')).toEqual([
      { path: ['email'], message: 'Another user has this e-mail.' },
    ]);
    expect(conflictIssues('A user with the same username or email is being created')).toEqual([]);
  });
});
