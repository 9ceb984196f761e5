import { sql } from "drizzle-orm";
import { check, integer, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const accounts = pgTable(
  "accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    /** Cached sum of credit_ledger.delta; updated in the same transaction as every ledger row. */
    creditsBalance: numeric("credits_balance", {
      precision: 14,
      scale: 4,
      mode: "number",
    })
      .notNull()
      .default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Key of the HMAC that signs crawl webhooks (`X-Spidra-Signature`); created on first need. */
    webhookSecret: text("webhook_secret"),
    /** Per-account overrides of the global limits (null: the setting applies). */
    rateLimitMax: integer("rate_limit_max"),
    maxPendingScrapeJobs: integer("max_pending_scrape_jobs"),
    maxPendingBatches: integer("max_pending_batches"),
    maxPendingCrawls: integer("max_pending_crawls"),
    /**
     * Unfinished single scrapes (kind scrape, no batch, status waiting | delayed | active), kept by
     * triggers on `jobs` (migration 0008) so a submit reads its pending-job limit in O(1).
     */
    pendingScrapes: integer("pending_scrapes").notNull().default(0),
  },
  // The balance can never go below zero, whatever races the application loses.
  (t) => [check("accounts_balance_non_negative", sql`${t.creditsBalance} >= 0`)],
);
