/**
 * Fields the service itself manages. They are checked against a group schema only when the schema
 * declares them, so a schema written only for the custom fields (even with
 * `additionalProperties: false`) still accepts a user with a username and a group.
 */
export const STANDARD_FIELDS = ['userGroup', 'authUserId', 'username', 'email', 'blocked', 'roles', 'expirationDate', 'expirationId'];
/** Fields every stored document carries, written by the store. */
export const INTERNAL_FIELDS = ['_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId'];
