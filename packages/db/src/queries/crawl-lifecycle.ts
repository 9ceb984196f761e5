import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import type { CrawlJob } from "./crawl-read.ts";
import { UNFINISHED } from "./job-lifecycle.ts";
import { storableJson } from "../schema/storable-columns.ts";

/** The union progress object of §8.2 (D16). */
export interface CrawlProgress {
  status: string;
  message: string;
  progress: number;
  pagesCrawled: number;
  maxPages: number;
}

/**
 * Claims a crawl for one attempt: status active and a fresh run token. Pages a dead attempt had
 * claimed go back to the frontier (they were never written), so the crawl resumes where it was.
 * Returns null when the crawl is already terminal or unknown.
 */
export async function startCrawlAttempt(db: Db, crawlId: string): Promise<CrawlJob | null> {
  return db.transaction(async (tx) => {
    const [job] = await tx
      .update(jobs)
      .set({
        status: "active",
        attempts: sql`${jobs.attempts} + 1`,
        runToken: sql`gen_random_uuid()`,
        startedAt: sql`coalesce(${jobs.startedAt}, now())`,
        updatedAt: sql`now()`,
        error: null,
      })
      .where(and(eq(jobs.id, crawlId), eq(jobs.kind, "crawl"), inArray(jobs.status, [...UNFINISHED])))
      .returning();
    if (!job) return null;
    await tx
      .update(crawlPages)
      .set({ status: "queued", runToken: null, updatedAt: sql`now()` })
      .where(and(eq(crawlPages.crawlId, crawlId), eq(crawlPages.status, "processing")));
    const [crawl] = await tx.select().from(crawls).where(eq(crawls.id, crawlId));
    if (!crawl) throw new Error(`crawl ${crawlId} has a job row but no settings`);
    return { job, crawl };
  });
}

/** Writes progress; ignored when this attempt no longer owns the crawl (cancelled, or taken over). */
export async function updateCrawlProgress(
  db: Db,
  opts: { crawlId: string; runToken: string; progress: CrawlProgress },
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ progress: opts.progress, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, opts.crawlId), eq(jobs.runToken, opts.runToken), eq(jobs.status, "active")))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** Puts an attempt that failed transiently back to `delayed` (the queue retries it after a backoff). */
export async function markCrawlDelayed(
  db: Db,
  opts: { crawlId: string; runToken: string; error: string },
): Promise<void> {
  await db
    .update(jobs)
    .set({
      status: "delayed",
      progress: sql`coalesce(${jobs.progress}, '{}'::jsonb) || ${storableJson(JSON.stringify({ status: "retrying", message: `Retrying after error: ${opts.error}` }))}::jsonb`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(jobs.id, opts.crawlId), eq(jobs.runToken, opts.runToken), eq(jobs.status, "active")));
}

/** Adds a note for the client (once), e.g. that the model could not choose links. */
export async function addCrawlNote(db: Db, opts: { crawlId: string; note: string }): Promise<void> {
  const note = storableJson(JSON.stringify([opts.note]));
  await db
    .update(crawls)
    .set({ notes: sql`${crawls.notes} || ${note}::jsonb` })
    .where(and(eq(crawls.id, opts.crawlId), sql`not (${crawls.notes} @> ${note}::jsonb)`));
}

/** A URL entering the frontier. */
export interface FrontierEntry {
  url: string;
  urlKey: string;
  depth: number;
  orderKey: number[];
  /** Model tokens already spent on this entry (choosing sitemap URLs is counted with the base page). */
  inputTokens?: number;
  outputTokens?: number;
  /** Of those, the tokens spent choosing links (all of them, for a seed): not charged. */
  linkChoiceTokens?: number;
}

/**
 * Seeds the frontier once (base URL, sitemap URLs) and marks the crawl seeded, in one transaction,
 * only while `runToken` owns the crawl. Returns false when it was refused or seeded already.
 */
export async function seedCrawlFrontier(
  db: Db,
  opts: { crawlId: string; runToken: string; entries: FrontierEntry[] },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [owner] = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.id, opts.crawlId), eq(jobs.runToken, opts.runToken), eq(jobs.status, "active")))
      .for("update");
    if (!owner) return false;
    const seeded = await tx
      .update(crawls)
      .set({ seededAt: sql`now()` })
      .where(and(eq(crawls.id, opts.crawlId), isNull(crawls.seededAt)))
      .returning({ id: crawls.id });
    if (seeded.length === 0) return false;
    if (opts.entries.length > 0) {
      await tx
        .insert(crawlPages)
        .values(opts.entries.map((e) => ({ ...e, crawlId: opts.crawlId })))
        .onConflictDoNothing();
    }
    return true;
  });
}
