import { index, integer, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { jsonb } from "./storable-columns.ts";

/**
 * A batch of scrape jobs (§7). Its reported status is derived from its items except for the two
 * states items cannot express: `cancelled` (DELETE) and `failed` (the batch itself broke).
 */
export const batches = pgTable(
  "batches",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** active | cancelled | failed */
    state: text("state").notNull().default("active"),
    channel: text("channel").notNull().default("api"),
    outputFormat: text("output_format").notNull(),
    total: integer("total").notNull(),
    /** Options applied to every item (the normalised scrape request without URLs or secrets). */
    request: jsonb("request").notNull(),
    creditsPerItem: numeric("credits_per_item", { precision: 14, scale: 4, mode: "number" }).notNull(),
    schemaWarnings: jsonb("schema_warnings").$type<string[]>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    /** When its failed items were last retried: a retried batch has run, so it is never `pending` again. */
    retriedAt: timestamp("retried_at", { withTimezone: true }),
  },
  (t) => [index("batches_account_created_idx").on(t.accountId, t.createdAt)],
);
