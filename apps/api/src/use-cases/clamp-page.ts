/** Page and limit clamped into range instead of refused (§14: Go sends `page=0&limit=0`). */
export function clampPage(
  query: { page?: number; limit?: number },
  opts: { defaultLimit: number; maxLimit: number },
): { page: number; limit: number } {
  const page = query.page !== undefined && query.page >= 1 ? Math.floor(query.page) : 1;
  const rawLimit = query.limit !== undefined && query.limit >= 1 ? Math.floor(query.limit) : opts.defaultLimit;
  return { page, limit: Math.min(rawLimit, opts.maxLimit) };
}
