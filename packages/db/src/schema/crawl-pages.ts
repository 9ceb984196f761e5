import { bigint, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { crawls } from "./crawls.ts";
import { jsonb, storableText } from "./storable-columns.ts";

/**
 * queued (in the frontier) | processing (claimed by an attempt) | success | failed |
 * skipped (never processed: the crawl ended, hit maxPages or was cancelled first) |
 * alias (a URL another page of the crawl was redirected to: known, so links to it are not followed,
 * but never loaded nor listed itself).
 */
export type CrawlPageStatus = "queued" | "processing" | "success" | "failed" | "skipped" | "alias";

/**
 * One URL of a crawl: the frontier and the results in one table, so a crawl resumes where it was
 * after a worker dies. `url_key` (the URL normalised for de-duplication) is unique per crawl, so no
 * page is ever queued, fetched or billed twice.
 */
export const crawlPages = pgTable(
  "crawl_pages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    crawlId: uuid("crawl_id")
      .notNull()
      .references(() => crawls.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    urlKey: text("url_key").notNull(),
    depth: integer("depth").notNull(),
    /**
     * Breadth-first order within a depth: the parent's key plus the link's position on the parent
     * page (`[0]` is the base URL, `[0, i]` its links, `[1, i]` sitemap URLs). Arrays compare
     * element by element, so the order is the same whichever page happens to load first.
     */
    orderKey: integer("order_key").array().notNull(),
    status: text("status").$type<CrawlPageStatus>().notNull().default("queued"),
    /** Run token of the crawl attempt that claimed the page. */
    runToken: uuid("run_token"),
    attempts: integer("attempts").notNull().default(0),
    title: storableText("title"),
    data: jsonb("data"),
    /** Storage keys of the page HTML and Markdown (links are signed when read). */
    htmlKey: text("html_key"),
    markdownKey: text("markdown_key"),
    errorMessage: storableText("error_message"),
    aiExtractionFailed: boolean("ai_extraction_failed").notNull().default(false),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    /**
     * Of the tokens above, those the model spent choosing links (`crawlInstruction`): reported with
     * the rest, never charged (only extraction is, contract §12).
     */
    linkChoiceTokens: integer("link_choice_tokens").notNull().default(0),
    /** Bytes the page moved through an upstream proxy (`useProxy`), every try included; 0 without one. */
    proxyBytes: bigint("proxy_bytes", { mode: "number" }).notNull().default(0),
    /** For extraction jobs: the page of the source crawl this one re-extracts. */
    sourcePageId: uuid("source_page_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("crawl_pages_crawl_url_key_uq").on(t.crawlId, t.urlKey),
    index("crawl_pages_frontier_idx").on(t.crawlId, t.status, t.depth),
  ],
);
