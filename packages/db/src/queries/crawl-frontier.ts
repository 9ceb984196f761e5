import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { Db, Tx } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import type { CrawlPageRow } from "./crawl-read.ts";
import type { CrawlPageStatus } from "../schema/index.ts";
import { withoutNul } from "../schema/storable-columns.ts";

/** Locks the crawl's job row when `runToken` still owns it; every frontier write goes through this. */
async function lockOwned(tx: Tx, crawlId: string, runToken: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.id, crawlId), eq(jobs.runToken, runToken), eq(jobs.status, "active")))
    .for("update");
  return row !== undefined;
}

export type ClaimResult =
  { pages: CrawlPageRow[]; stop?: undefined } | { pages: []; stop: "not_owner" | "max_pages" | "empty" };

/**
 * Claims the next pages of the frontier in breadth-first order (depth, then discovery), a level
 * only once the shallower one is done (so the order does not depend on which page loads first),
 * never more than `maxPages` processed or in flight in total. Serialised per crawl by the job-row
 * lock. `empty` also means "wait": pages in flight may still add links.
 */
export async function claimCrawlPages(
  db: Db,
  opts: { crawlId: string; runToken: string; limit: number },
): Promise<ClaimResult> {
  return db.transaction(async (tx) => {
    if (!(await lockOwned(tx, opts.crawlId, opts.runToken))) return { pages: [], stop: "not_owner" } as const;
    const [crawl] = await tx.select({ maxPages: crawls.maxPages }).from(crawls).where(eq(crawls.id, opts.crawlId));
    const [used] = await tx
      .select({ n: count() })
      .from(crawlPages)
      .where(
        and(eq(crawlPages.crawlId, opts.crawlId), inArray(crawlPages.status, ["processing", "success", "failed"])),
      );
    const room = Math.min(opts.limit, (crawl?.maxPages ?? 0) - (used?.n ?? 0));
    if (room <= 0) return { pages: [], stop: "max_pages" } as const;
    const pages = await tx
      .update(crawlPages)
      .set({
        status: "processing",
        runToken: opts.runToken,
        attempts: sql`${crawlPages.attempts} + 1`,
        updatedAt: sql`now()`,
      })
      .where(
        inArray(
          crawlPages.id,
          tx
            .select({ id: crawlPages.id })
            .from(crawlPages)
            .where(
              and(
                eq(crawlPages.crawlId, opts.crawlId),
                eq(crawlPages.status, "queued"),
                // Level by level: a page may still add links that come before everything deeper.
                sql`${crawlPages.depth} = (select min(p.depth) from ${crawlPages} p where p.crawl_id = ${opts.crawlId} and p.status in ('queued', 'processing'))`,
              ),
            )
            .orderBy(crawlPages.orderKey)
            .limit(room),
        ),
      )
      .returning();
    if (pages.length === 0) return { pages: [], stop: "empty" } as const;
    return { pages: pages.sort((a, b) => a.depth - b.depth || compareKeys(a.orderKey, b.orderKey)) };
  });
}

/** What one processed page produced. */
export interface PageOutcome {
  status: "success" | "failed";
  title: string | null;
  data: unknown;
  htmlKey: string | null;
  markdownKey: string | null;
  errorMessage: string | null;
  aiExtractionFailed: boolean;
  inputTokens: number;
  outputTokens: number;
  /** Of the tokens, those spent choosing the page's links to follow: reported, not charged. */
  linkChoiceTokens?: number;
  /** Bytes moved through an upstream proxy while loading the page (added to earlier tries'). */
  proxyBytes?: number;
}

/** A link found on the page, already normalised, in scope and chosen. */
export interface DiscoveredLink {
  url: string;
  urlKey: string;
  depth: number;
  /** The page's order key plus the link's position on it. */
  orderKey: number[];
}

/** Element-wise comparison of order keys (as Postgres compares integer arrays). */
export function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Writes a page's outcome and enqueues the links it led to, in one transaction, only while the
 * attempt owns both the crawl and the page (a cancelled crawl or a taken-over page refuses the
 * write, so nothing is stored or billed twice). New links get the next discovery numbers; known
 * ones move up when found earlier in breadth-first order; the frontier never grows past `frontierCap`
 * rows. With `redirect`, the target is recorded as an alias of the page, or, when another page has
 * it already, the page is written as `redirect.duplicateOutcome` (`duplicate`) without its links.
 */
export async function completeCrawlPage(
  db: Db,
  opts: {
    crawlId: string;
    runToken: string;
    pageId: string;
    outcome: PageOutcome;
    links: DiscoveredLink[];
    frontierCap: number;
    redirect?: PageRedirect;
  },
): Promise<{ written: boolean; crawled: number; duplicate?: boolean }> {
  return db.transaction(async (tx) => {
    if (!(await lockOwned(tx, opts.crawlId, opts.runToken))) return { written: false, crawled: 0 };
    let o = opts.outcome;
    let links = opts.links;
    let duplicate = false;
    if (opts.redirect && o.status === "success" && !(await claimRedirectTarget(tx, opts.crawlId, opts.redirect))) {
      // Another page has the URL this one was redirected to (it got there first): a duplicate.
      o = opts.redirect.duplicateOutcome;
      links = [];
      duplicate = true;
    }
    const updated = await tx
      .update(crawlPages)
      .set({
        status: o.status,
        title: o.title,
        data: o.data ?? null,
        htmlKey: o.htmlKey,
        markdownKey: o.markdownKey,
        errorMessage: o.errorMessage,
        aiExtractionFailed: o.aiExtractionFailed,
        inputTokens: sql`${crawlPages.inputTokens} + ${o.inputTokens}`,
        outputTokens: sql`${crawlPages.outputTokens} + ${o.outputTokens}`,
        linkChoiceTokens: sql`${crawlPages.linkChoiceTokens} + ${Math.max(0, Math.round(o.linkChoiceTokens ?? 0))}`,
        proxyBytes: sql`${crawlPages.proxyBytes} + ${Math.max(0, Math.round(o.proxyBytes ?? 0))}`,
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(crawlPages.id, opts.pageId),
          eq(crawlPages.status, "processing"),
          eq(crawlPages.runToken, opts.runToken),
        ),
      )
      .returning({ id: crawlPages.id });
    if (updated.length === 0) return { written: false, crawled: 0 };
    if (links.length > 0) await enqueueLinks(tx, { ...opts, links });
    const [done] = await tx
      .select({ n: count() })
      .from(crawlPages)
      .where(and(eq(crawlPages.crawlId, opts.crawlId), inArray(crawlPages.status, ["success", "failed"])));
    return { written: true, crawled: done?.n ?? 0, ...(duplicate ? { duplicate } : {}) };
  });
}

/** Where a processed page was redirected to (its URL key differs from the page's). */
export interface PageRedirect {
  url: string;
  urlKey: string;
  depth: number;
  orderKey: number[];
  /** Written instead of the outcome when another page of the crawl already has the target. */
  duplicateOutcome: PageOutcome;
}

/**
 * Whether a page at `depth` redirected to the URL of `target` may make that row its record (an
 * `alias`): only a row still queued at a deeper level, which breadth-first order would load after
 * this page anyway. A row at this page's depth or above has the URL: the page is a duplicate.
 */
export function redirectMayTakeOver(target: { status: CrawlPageStatus; depth: number }, depth: number): boolean {
  return target.status === "queued" && target.depth > depth;
}

/**
 * Records a redirect target as an `alias` row, so links to it are known and it is never loaded as
 * a page of its own (a deeper queued row for it becomes the alias, {@link redirectMayTakeOver}).
 * False when the crawl has it already: the page is a duplicate.
 */
async function claimRedirectTarget(tx: Tx, crawlId: string, redirect: PageRedirect): Promise<boolean> {
  const rows = await tx
    .insert(crawlPages)
    .values({
      crawlId,
      url: redirect.url,
      urlKey: redirect.urlKey,
      depth: redirect.depth,
      orderKey: redirect.orderKey,
      status: "alias",
    })
    .onConflictDoUpdate({
      target: [crawlPages.crawlId, crawlPages.urlKey],
      set: { status: "alias", runToken: null, updatedAt: sql`now()` },
      setWhere: sql`${crawlPages.status} = 'queued' and ${crawlPages.depth} > ${redirect.depth}`,
    })
    .returning({ id: crawlPages.id });
  return rows.length > 0;
}

/** The crawl's row for a URL key, as far as redirects need it (null: the crawl does not know it). */
export async function findUrlKey(
  db: Db,
  crawlId: string,
  urlKey: string,
): Promise<{ status: CrawlPageStatus; depth: number } | null> {
  const [row] = await db
    .select({ status: crawlPages.status, depth: crawlPages.depth })
    .from(crawlPages)
    .where(and(eq(crawlPages.crawlId, crawlId), eq(crawlPages.urlKey, urlKey)));
  return row ?? null;
}

/** Whether the crawl may still start a page: fewer than its maxPages processed or in flight. */
export async function crawlHasRoom(db: Db, crawlId: string): Promise<boolean> {
  const [crawl] = await db.select({ maxPages: crawls.maxPages }).from(crawls).where(eq(crawls.id, crawlId));
  const [used] = await db
    .select({ n: count() })
    .from(crawlPages)
    .where(and(eq(crawlPages.crawlId, crawlId), inArray(crawlPages.status, ["processing", "success", "failed"])));
  return (used?.n ?? 0) < (crawl?.maxPages ?? 0);
}

async function enqueueLinks(tx: Tx, opts: { crawlId: string; links: DiscoveredLink[]; frontierCap: number }) {
  const [size] = await tx.select({ n: count() }).from(crawlPages).where(eq(crawlPages.crawlId, opts.crawlId));
  const links = opts.links.slice(0, Math.max(0, opts.frontierCap - (size?.n ?? 0)));
  // Insert order is discovery order; a key twice in one statement would make the upsert fail.
  if (links.length === 0) return;
  // A URL found again earlier in breadth-first order (a sitemap seed later linked from a page) moves up.
  await tx
    .insert(crawlPages)
    .values(links.map((l) => ({ ...l, crawlId: opts.crawlId })))
    .onConflictDoUpdate({
      target: [crawlPages.crawlId, crawlPages.urlKey],
      set: { depth: sql`excluded.depth`, orderKey: sql`excluded.order_key` },
      setWhere: sql`${crawlPages.status} = 'queued' and (excluded.depth, excluded.order_key) < (${crawlPages.depth}, ${crawlPages.orderKey})`,
    });
}

/**
 * Hands a page back to the frontier after a transient failure (the browser crashed), or fails it
 * once it has had `maxAttempts` tries. Proxy bytes the failed try moved are kept.
 */
export async function requeueCrawlPage(
  db: Db,
  opts: { crawlId: string; runToken: string; pageId: string; error: string; maxAttempts: number; proxyBytes?: number },
): Promise<void> {
  await db
    .update(crawlPages)
    .set({
      proxyBytes: sql`${crawlPages.proxyBytes} + ${Math.max(0, Math.round(opts.proxyBytes ?? 0))}`,
      status: sql`case when ${crawlPages.attempts} >= ${opts.maxAttempts} then 'failed' else 'queued' end`,
      errorMessage: sql`case when ${crawlPages.attempts} >= ${opts.maxAttempts} then ${withoutNul(opts.error)} else null end`,
      finishedAt: sql`case when ${crawlPages.attempts} >= ${opts.maxAttempts} then now() else null end`,
      runToken: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(crawlPages.id, opts.pageId),
        eq(crawlPages.crawlId, opts.crawlId),
        eq(crawlPages.status, "processing"),
        eq(crawlPages.runToken, opts.runToken),
      ),
    );
}

/** Which of these URL keys the crawl already knows (queued, done or skipped). */
export async function findKnownUrlKeys(db: Db, crawlId: string, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .select({ key: crawlPages.urlKey })
    .from(crawlPages)
    .where(and(eq(crawlPages.crawlId, crawlId), inArray(crawlPages.urlKey, keys)));
  return new Set(rows.map((r) => r.key));
}
