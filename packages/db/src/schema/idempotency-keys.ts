import { index, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";

/**
 * `Idempotency-Key` of a submit → the job it created, for 24 hours. Redis answers first (and holds
 * concurrent duplicates); this copy keeps the promise when Redis loses its keys (a flush, a restart).
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** The submit route: scrape, batch or crawl. */
    kind: text("kind").notNull(),
    key: text("key").notNull(),
    jobId: uuid("job_id").notNull(),
    /**
     * HMAC-SHA256 (hex, the instance secret) of the request body the key came with: the same key with
     * a different request is refused. Null for keys recorded before the column existed.
     */
    requestHash: text("request_hash"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.kind, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);
