import type { Readable } from "node:stream";
import type { CrawlPageRow } from "@orbweaver/db";
import { extractPageMetadata } from "@orbweaver/extract";
import type { BlobStore } from "@orbweaver/storage";
import { extractPageData } from "./extract-page-data.ts";
import { failedOutcome, type PageResult } from "./process-crawl-page.ts";
import { extractionFailureNote, noteOnce, type CrawlSession } from "./crawl-session.ts";

/** Reads a stored blob as text; null when it is gone. */
export async function readBlobText(blobs: BlobStore, key: string | null): Promise<string | null> {
  if (!key) return null;
  const blob = await blobs.get(key);
  if (!blob) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of blob.body as Readable) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * One page of an extraction job (`POST /crawl/{id}/extract`): the source crawl's stored Markdown
 * (and the HTML's JSON-LD/OpenGraph) go through the new transformInstruction. No browser, no links.
 */
export async function extractStoredPage(session: CrawlSession, page: CrawlPageRow): Promise<PageResult> {
  const { ctx, crawl, log } = session;
  const markdown = await readBlobText(ctx.blobs, page.markdownKey);
  if (markdown === null) return { outcome: failedOutcome("The stored page content is no longer available"), links: [] };
  const html = await readBlobText(ctx.blobs, page.htmlKey);
  const title = page.title ?? "";
  const extraction = await extractPageData(ctx, {
    crawl,
    page: { url: page.url, title, markdown, ...(html ? { metadata: extractPageMetadata(html) } : {}) },
    log,
  });
  if (extraction.failureReason) await noteOnce(session, extractionFailureNote(extraction.failureReason));
  return {
    outcome: {
      status: "success",
      title,
      data: extraction.data,
      htmlKey: page.htmlKey,
      markdownKey: page.markdownKey,
      errorMessage: null,
      aiExtractionFailed: extraction.aiExtractionFailed,
      inputTokens: extraction.usage.inputTokens,
      outputTokens: extraction.usage.outputTokens,
    },
    links: [],
  };
}
