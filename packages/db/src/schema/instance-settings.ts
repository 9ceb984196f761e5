import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Deployment-wide values every process must agree on, such as the signing secret. */
export const instanceSettings = pgTable("instance_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
