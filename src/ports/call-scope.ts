/** Who is calling, and what is forwarded to upstreams on their behalf. */
export interface CallScope {
  /** Written as creatorId / updaterId. */
  actorId: string;
  /** Platform headers to forward (acl_rows, user id, groups, ADDITIONAL_HEADERS_TO_PROXY). */
  headers: Record<string, string>;
}
