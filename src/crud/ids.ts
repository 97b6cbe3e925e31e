/** A MongoDB ObjectId as the CRUD Service writes it: 24 hex characters. */
export const OBJECT_ID = /^[0-9a-f]{24}$/;
