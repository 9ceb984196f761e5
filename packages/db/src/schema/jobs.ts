import { sql } from "drizzle-orm";
import { index, integer, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { jsonb, storableText } from "./storable-columns.ts";

/** waiting | delayed | active | completed | failed (contract §5.4), and cancelled for batch items. */
export type JobStatus = "waiting" | "delayed" | "active" | "completed" | "failed" | "cancelled";

/** The system of record for every scrape job; Redis only carries the id. */
export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    kind: text("kind").notNull().default("scrape"),
    /** Set for batch items; such jobs do not count against the scrape pending-job limit. */
    batchId: uuid("batch_id"),
    /** When the id was handed to the queue; batch items wait undispatched until a slot frees. */
    dispatchedAt: timestamp("dispatched_at", { withTimezone: true }),
    channel: text("channel").notNull().default("api"),
    status: text("status").$type<JobStatus>().notNull().default("waiting"),
    /** The validated request, without secrets (cookies are never stored). */
    request: jsonb("request").notNull(),
    progress: jsonb("progress"),
    result: jsonb("result"),
    error: storableText("error"),
    stats: jsonb("stats"),
    schemaWarnings: jsonb("schema_warnings").$type<string[]>(),
    creditsReserved: numeric("credits_reserved", { precision: 14, scale: 4, mode: "number" }).notNull().default(0),
    creditsUsed: numeric("credits_used", { precision: 14, scale: 4, mode: "number" }).notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    /** Token of the attempt that owns the job; a stale attempt's write is refused. */
    runToken: uuid("run_token"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("jobs_account_status_idx").on(t.accountId, t.status),
    index("jobs_account_created_idx").on(t.accountId, t.createdAt),
    index("jobs_status_updated_idx").on(t.status, t.updatedAt),
    // Batch items only: a single scrape (most inserts) adds no entry (see migration 0012).
    index("jobs_batch_idx")
      .on(t.batchId, t.status)
      .where(sql`${t.batchId} is not null`),
  ],
);
