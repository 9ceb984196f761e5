import { bigserial, index, numeric, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";

/**
 * Every change of balance is one row. `reason` is one of grant | reserve | refund | charge.
 * (job_id, reason) is unique so a duplicate delivery can never reserve or refund twice.
 */
export const creditLedger = pgTable(
  "credit_ledger",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    delta: numeric("delta", { precision: 14, scale: 4, mode: "number" }).notNull(),
    reason: text("reason").notNull(),
    jobId: uuid("job_id"),
    note: text("note"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("credit_ledger_account_idx").on(t.accountId, t.createdAt),
    uniqueIndex("credit_ledger_job_reason_uq").on(t.jobId, t.reason),
  ],
);
