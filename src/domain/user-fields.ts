/**
 * Fields the service itself manages. They are checked against a group schema only when the schema
 * declares them, so a schema written only for the custom fields (even with
 * `additionalProperties: false`) still accepts a user with a username and a group.
 */
export const STANDARD_FIELDS = ['userGroup', 'authUserId', 'username', 'email', 'blocked', 'roles', 'expirationDate', 'expirationId'];
/** Fields every stored document carries, written by the store. */
export const INTERNAL_FIELDS = ['_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId'];
/**
 * Fields only the service writes: a caller's update naming one is refused (400), so in an update
 * that reaches the store they are always the service's own bookkeeping (the identity link, the
 * expiration's schedule), never the caller's edit.
 */
export const SERVICE_OWNED_FIELDS: readonly string[] = ['authUserId', 'expirationId'];
