import type { Readable } from "node:stream";
import { UNFINISHED, getBalance, getCrawl, getCrawlPage, saveCrawlPageRetry } from "@orbweaver/db";
import { extractContent } from "@orbweaver/extract";
import type { BlobStore } from "@orbweaver/storage";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";

export interface RetryPageResult {
  success: boolean;
  data: unknown;
  tokensUsed: number;
  creditsUsed: number;
  message: string;
  error?: string;
}

async function readText(blobs: BlobStore, key: string | null): Promise<string | null> {
  const blob = key ? await blobs.get(key) : null;
  if (!blob) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of blob.body as Readable) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * POST /crawl/{id}/retry/{pageId}: runs the crawl's own transformInstruction/schema again over the
 * page's stored Markdown, synchronously, and stores the new `data`. Only the model tokens are
 * charged. A model failure answers `success: false` (with `error` and `message`) and keeps the
 * previous data; a request that cannot be honoured is an error envelope.
 */
export async function retryCrawlPage(
  deps: ApiDeps,
  opts: { accountId: string; crawlId: string; pageId: string; log: FastifyBaseLogger },
): Promise<RetryPageResult> {
  const found = await getCrawl(deps.db, opts.crawlId, opts.accountId);
  if (!found) throw new AppError("NOT_FOUND", "Crawl job not found");
  // Frontier rows never shown by /pages (queued, skipped) are not pages a client can know.
  const page = await getCrawlPage(deps.db, found.crawl.id, opts.pageId);
  if (!page || !["success", "failed", "processing"].includes(page.status)) {
    throw new AppError("NOT_FOUND", "Crawl page not found");
  }
  if ((UNFINISHED as readonly string[]).includes(found.job.status) || page.status === "processing") {
    throw new AppError("VALIDATION_ERROR", "The crawl is still running; retry a page once it has finished.");
  }
  const markdown = page.status === "success" ? await readText(deps.blobs, page.markdownKey) : null;
  if (markdown === null) {
    throw new AppError(
      "VALIDATION_ERROR",
      page.status === "failed"
        ? `This page has no content to transform: it could not be crawled (${page.errorMessage ?? "failed"}).`
        : "The stored content of this page is no longer available.",
    );
  }
  const { crawl } = found;
  if (!crawl.transformInstruction && !crawl.outputSchema) {
    return {
      success: true,
      data: markdown,
      tokensUsed: 0,
      creditsUsed: 0,
      message: "This crawl has no transformInstruction or schema: the page Markdown is its data.",
    };
  }
  if (((await getBalance(deps.db, opts.accountId)) ?? 0) <= 0) {
    throw new AppError("INSUFFICIENT_CREDITS", "You have no credits left for the re-extraction's model tokens.");
  }
  const html = await readText(deps.blobs, page.htmlKey);
  const outcome = await extractContent({
    llm: deps.llm,
    pages: [{ url: page.url, title: page.title ?? "", markdown, ...(html ? { html } : {}) }],
    ...(crawl.transformInstruction ? { prompt: crawl.transformInstruction } : {}),
    ...(crawl.outputSchema ? { schema: crawl.outputSchema } : {}),
    output: "json",
    inputBudgetTokens: deps.config.llm.inputBudgetTokens,
    maxChunks: deps.config.llm.maxChunks,
    log: opts.log,
  });
  const tokensUsed = outcome.usage.inputTokens + outcome.usage.outputTokens;
  const charge = Math.round((tokensUsed / 1000) * deps.config.limits.creditsPer1kTokens * 10_000) / 10_000;
  const { creditsUsed } = await saveCrawlPageRetry(deps.db, {
    crawlId: crawl.id,
    pageId: page.id,
    accountId: opts.accountId,
    data: outcome.content,
    keepPreviousData: outcome.aiExtractionFailed,
    inputTokens: outcome.usage.inputTokens,
    outputTokens: outcome.usage.outputTokens,
    charge,
  });
  if (outcome.aiExtractionFailed) {
    const error = `AI extraction failed (${outcome.failureReason ?? "unknown"}); the page keeps its previous data.`;
    return { success: false, data: page.data ?? null, tokensUsed, creditsUsed, message: error, error };
  }
  return { success: true, data: outcome.content, tokensUsed, creditsUsed, message: "Page re-extracted." };
}
