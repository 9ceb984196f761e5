import { ErrorEnvelope, UsageRangeQuery, UsageResponse } from "@orbweaver/contract";
import { getUsageStats, type UsageBucket, type UsageRange } from "@orbweaver/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AppError } from "../../errors.ts";

const RANGES: readonly string[] = ["7d", "30d", "weekly"];
const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 429: ErrorEnvelope };

const day = (d: Date) => d.toISOString().slice(0, 10);
const monthDay = (d: Date) => d.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

function present(range: UsageRange, b: UsageBucket) {
  const { start, ...counts } = b;
  if (range === "weekly") {
    const end = new Date(start.getTime() + 6 * 86_400_000);
    const sameMonth = start.getUTCMonth() === end.getUTCMonth();
    const label = sameMonth ? `${monthDay(start)}-${end.getUTCDate()}` : `${monthDay(start)}-${monthDay(end)}`;
    return { label, date: `${monthDay(start)} – ${monthDay(end)}`, ...counts };
  }
  const label =
    range === "7d" ? start.toLocaleDateString("en-US", { weekday: "short", timeZone: "UTC" }) : monthDay(start);
  return { label, date: day(start), ...counts };
}

/** Usage time series (§10): the canonical path needs `range`; the two aliases default to 30d (D31). */
const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const handler =
    (requireRange: boolean) => async (request: { query: { range?: string }; account: { accountId: string } }) => {
      const raw = request.query.range?.trim();
      if (!raw && requireRange) throw new AppError("VALIDATION_ERROR", "range is required: 7d, 30d or weekly");
      const range = (raw || "30d") as UsageRange;
      if (!RANGES.includes(range))
        throw new AppError("VALIDATION_ERROR", `range must be 7d, 30d or weekly (got "${raw}")`);
      const buckets = await getUsageStats(app.deps.db, { accountId: request.account.accountId, range });
      return { status: "success" as const, data: buckets.map((b) => present(range, b)) };
    };
  const schema = { tags: ["usage"], querystring: UsageRangeQuery, response: { 200: UsageResponse, ...errors } };
  app.get("/usage-stats", { schema }, handler(true));
  app.get("/account/usage", { schema: { ...schema, hide: true } }, handler(false));
  app.get("/usage", { schema: { ...schema, hide: true } }, handler(false));
};

export default usageRoutes;
