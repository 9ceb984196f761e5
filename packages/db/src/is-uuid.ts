const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are opaque to clients; a malformed one is simply not found (never a Postgres cast error). */
export const isUuid = (id: string): boolean => UUID.test(id);
