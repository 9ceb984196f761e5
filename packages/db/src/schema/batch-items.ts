import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { batches } from "./batches.ts";
import { jobs } from "./jobs.ts";

/** One URL of a batch; `job_id` is its current scrape job (a retry points it at a new one). */
export const batchItems = pgTable(
  "batch_items",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    batchId: uuid("batch_id")
      .notNull()
      .references(() => batches.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    url: text("url").notNull(),
    jobId: uuid("job_id")
      .notNull()
      .references(() => jobs.id),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("batch_items_batch_position_uq").on(t.batchId, t.position),
    index("batch_items_job_idx").on(t.jobId),
  ],
);
