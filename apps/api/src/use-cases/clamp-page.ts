/**
 * Highest page served: beyond it the list is empty anyway, and `(page - 1) × limit` must stay a safe
 * integer and a valid SQL OFFSET (a page of 10^18 was a 500 from Postgres).
 */
export const MAX_PAGE = 1_000_000;

/** Page and limit clamped into range instead of refused (§14: Go sends `page=0&limit=0`). */
export function clampPage(
  query: { page?: number; limit?: number },
  opts: { defaultLimit: number; maxLimit: number },
): { page: number; limit: number } {
  const page = query.page !== undefined && query.page >= 1 ? Math.min(Math.floor(query.page), MAX_PAGE) : 1;
  const rawLimit = query.limit !== undefined && query.limit >= 1 ? Math.floor(query.limit) : opts.defaultLimit;
  return { page, limit: Math.min(rawLimit, opts.maxLimit) };
}
