import { addCrawlNote, type CrawlRow } from "@orbweaver/db";
import type { ChooseLinksFailure } from "@orbweaver/extract";
import type { Logger } from "pino";
import type { SealedCookies } from "../job-cookies.ts";
import type { WorkerContext } from "../worker-context.ts";
import type { LinkPolicy } from "./discover-links.ts";
import type { PageLoadPacer } from "./pace-page-loads.ts";
import type { CrawlSideRequests } from "./side-requests.ts";
import type { WebhookSender } from "./webhook-sender.ts";

/** Everything one attempt of one crawl works with. */
export interface CrawlSession {
  ctx: WorkerContext;
  crawl: CrawlRow;
  runToken: string;
  log: Logger;
  links: LinkPolicy;
  webhooks: WebhookSender | null;
  /** Notes already written by this attempt (each is written once). */
  notes: Set<string>;
  /** Pages processed so far, by earlier attempts too (for progress, which never goes back). */
  crawledSoFar: number;
  /** The crawl's cookies, sealed by the gateway and never stored. */
  cookies?: SealedCookies;
  /** Spaces page loads by robots.txt `Crawl-delay`. */
  pace: PageLoadPacer;
  /** robots.txt and sitemap requests (through the crawl's proxy when it has one). */
  side: CrawlSideRequests;
}

/** The note the client sees when the model could not choose links and every in-scope link was followed. */
export function modelFailureNote(reason: ChooseLinksFailure): string {
  return reason === "no_model"
    ? "No model is configured, so crawlInstruction could not choose links: every in-scope link was followed."
    : `The model could not choose links (${reason}): every in-scope link was followed where it failed.`;
}

/** The note the client sees when the model could not extract a page's data (its `data` is then its Markdown). */
export function extractionFailureNote(reason: string): string {
  return (
    `The model could not extract data from some pages (${reason}): their data is the page Markdown ` +
    `(ai_extraction_failed: true); POST /crawl/{id}/retry/{pageId} extracts a page again.`
  );
}

/** The note the client sees when an origin's robots.txt could not be read (5xx or no answer). */
export function robotsUnreachableNote(origin: string, reason: string): string {
  return (
    `robots.txt of ${origin} could not be read (${reason}): as RFC 9309 asks, its pages were treated as ` +
    `disallowed and not crawled (the base URL is loaded all the same).`
  );
}

/** Writes a note for the client once per attempt (the query also refuses duplicates). */
export async function noteOnce(session: CrawlSession, note: string): Promise<void> {
  if (session.notes.has(note)) return;
  session.notes.add(note);
  session.log.warn({ note }, "crawl note");
  await addCrawlNote(session.ctx.db, { crawlId: session.crawl.id, note });
}
