import type { CrawlRow } from "@orbweaver/db";
import { extractContent, type LlmUsage, type PageMetadata } from "@orbweaver/extract";
import type { Logger } from "pino";
import type { WorkerContext } from "../worker-context.ts";

/** True when the crawl asks for AI per page (else `data` is the page Markdown, no model call). */
export function wantsPageExtraction(crawl: Pick<CrawlRow, "transformInstruction" | "outputSchema">): boolean {
  return Boolean(crawl.transformInstruction) || Boolean(crawl.outputSchema);
}

/**
 * A page's `data`: the extraction by `transformInstruction`/`schema` (schema enforced, repaired or
 * flagged exactly as for scrapes) or, with neither, the raw Markdown. A model failure keeps the
 * Markdown and sets `aiExtractionFailed`; it never fails the page. A page has a scrape job's time
 * budget (`JOB_TIMEOUT_MS`, counted from `startedAt`, default now): past it the model is not waited
 * for (no further chunk, retry or repair) and the page keeps its Markdown, as a scrape would.
 */
export async function extractPageData(
  ctx: WorkerContext,
  opts: {
    crawl: CrawlRow;
    page: { url: string; title: string; markdown: string; metadata?: PageMetadata; html?: string };
    log: Logger;
    /** When the page's work began (epoch ms): its load, or now for a stored page. */
    startedAt?: number;
  },
): Promise<{ data: unknown; aiExtractionFailed: boolean; failureReason?: string; usage: LlmUsage }> {
  const { crawl, page } = opts;
  if (!wantsPageExtraction(crawl)) {
    return { data: page.markdown, aiExtractionFailed: false, usage: { inputTokens: 0, outputTokens: 0 } };
  }
  const outcome = await extractContent({
    llm: ctx.llm,
    pages: [page],
    ...(crawl.transformInstruction ? { prompt: crawl.transformInstruction } : {}),
    ...(crawl.outputSchema ? { schema: crawl.outputSchema } : {}),
    output: "json",
    inputBudgetTokens: ctx.config.llm.inputBudgetTokens,
    maxChunks: ctx.config.llm.maxChunks,
    deadline: (opts.startedAt ?? Date.now()) + ctx.config.jobs.jobTimeoutMs,
    log: opts.log,
  });
  return {
    data: outcome.aiExtractionFailed ? page.markdown : outcome.content,
    aiExtractionFailed: outcome.aiExtractionFailed,
    ...(outcome.aiExtractionFailed ? { failureReason: outcome.failureReason ?? "unknown" } : {}),
    usage: outcome.usage,
  };
}
