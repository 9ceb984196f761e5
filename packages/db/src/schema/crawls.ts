import { sql } from "drizzle-orm";
import { boolean, index, integer, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.ts";
import { jobs } from "./jobs.ts";
import { jsonb } from "./storable-columns.ts";

/**
 * The configuration of a crawl (§8.1). Its lifecycle — status, progress, attempts, run token and
 * credits — lives in the `jobs` row of the same id (kind `crawl`), so usage statistics, the credit
 * ledger and the reconciler treat crawls like any other job. An extraction over a finished crawl
 * (`POST /crawl/{id}/extract`) is a crawl too, with `source_job_id` set and no browser work.
 */
export const crawls = pgTable(
  "crawls",
  {
    id: uuid("id")
      .primaryKey()
      .references(() => jobs.id, { onDelete: "cascade" }),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    sourceJobId: uuid("source_job_id"),
    baseUrl: text("base_url").notNull(),
    crawlInstruction: text("crawl_instruction").notNull(),
    /** True when the client gave its own instruction (the model then chooses the links to follow). */
    customInstruction: boolean("custom_instruction").notNull().default(false),
    transformInstruction: text("transform_instruction"),
    outputSchema: jsonb("output_schema").$type<Record<string, unknown>>(),
    maxPages: integer("max_pages").notNull(),
    maxDepth: integer("max_depth"),
    includePaths: jsonb("include_paths").$type<string[]>(),
    excludePaths: jsonb("exclude_paths").$type<string[]>(),
    allowSubdomains: boolean("allow_subdomains").notNull().default(false),
    crawlEntireDomain: boolean("crawl_entire_domain").notNull().default(false),
    ignoreQueryParams: boolean("ignore_query_params").notNull().default(false),
    webhookUrl: text("webhook_url"),
    useProxy: boolean("use_proxy").notNull().default(false),
    proxyCountry: text("proxy_country"),
    scrapeMode: text("scrape_mode").notNull().default("default"),
    /** Price of one successfully crawled page, fixed at submit. */
    creditsPerPage: numeric("credits_per_page", { precision: 14, scale: 4, mode: "number" }).notNull(),
    /** When the frontier was seeded (base URL and sitemap); a resumed crawl does not seed again. */
    seededAt: timestamp("seeded_at", { withTimezone: true }),
    /** Things the client should know, e.g. that the model could not choose links and all were followed. */
    notes: jsonb("notes")
      .$type<string[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("crawls_account_created_idx").on(t.accountId, t.createdAt)],
);
