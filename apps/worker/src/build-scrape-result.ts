import type { NormalizedScrapeRequest, ScrapeResult } from "@orbweaver/contract";
import { extractContent, extractionAsksModel, joinPagesMarkdown } from "@orbweaver/extract";
import type { UrlOutcome } from "./scrape-url.ts";
import type { WorkerContext } from "./worker-context.ts";

/**
 * The completed result: per-URL records, and `content` either the Markdown of the pages that
 * loaded or one AI answer across them. A model failure never fails the job: the raw Markdown is
 * returned with `ai_extraction_failed: true`.
 */
export async function buildScrapeResult(
  ctx: WorkerContext,
  opts: {
    request: NormalizedScrapeRequest;
    outcomes: UrlOutcome[];
    started: number;
    /** Epoch ms: the job's deadline (JOB_TIMEOUT_MS from its start), which the AI step keeps to. */
    deadline: number;
    onAiStart(): Promise<void>;
  },
): Promise<{ result: ScrapeResult; tokens: number }> {
  const loaded = opts.outcomes.filter((o) => o.page.success);
  const pages = loaded.map((o) => ({
    url: o.page.url,
    title: o.page.title,
    markdown: o.markdown,
    ...(o.metadata ? { metadata: o.metadata } : {}),
  }));
  let content: unknown = joinPagesMarkdown(pages);
  let aiFailed = false;
  // Tokens spent while browsing (element choices, forEach item prompts) count too.
  const usage = {
    inputTokens: opts.outcomes.reduce((n, o) => n + o.usage.inputTokens, 0),
    outputTokens: opts.outcomes.reduce((n, o) => n + o.usage.outputTokens, 0),
  };
  // Only when the request asks the model at all (contract §5.3, D7: otherwise content is the raw Markdown).
  if (extractionAsksModel(opts.request)) {
    await opts.onAiStart();
    const outcome = await extractContent({
      llm: ctx.llm,
      pages,
      prompt: opts.request.prompt,
      output: opts.request.output,
      schema: opts.request.schema,
      inputBudgetTokens: ctx.config.llm.inputBudgetTokens,
      maxChunks: ctx.config.llm.maxChunks,
      // Past it the model is not waited for: the raw Markdown is returned with ai_extraction_failed.
      deadline: opts.deadline,
      log: ctx.log,
    });
    content = outcome.content;
    aiFailed = outcome.aiExtractionFailed;
    usage.inputTokens += outcome.usage.inputTokens;
    usage.outputTokens += outcome.usage.outputTokens;
    if (aiFailed)
      ctx.log.warn(
        { reason: outcome.failureReason, calls: outcome.calls },
        "AI extraction failed; raw Markdown returned",
      );
  }
  const proxyBytes = opts.outcomes.reduce((n, o) => n + (o.proxyBytes ?? 0), 0);
  const captchaSolvedCount = opts.outcomes.reduce((n, o) => n + (o.captchasSolved ?? 0), 0);
  const result: ScrapeResult = {
    content,
    data: opts.outcomes.map((o) => o.page),
    screenshots: opts.outcomes.flatMap((o) => (o.page.screenshotUrl ? [o.page.screenshotUrl] : [])),
    ai_extraction_failed: aiFailed,
    stats: {
      durationMs: Date.now() - opts.started,
      captchaSolvedCount,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      totalTokens: usage.inputTokens + usage.outputTokens,
      // Kept with the job for logs; the public stats schema does not expose it.
      ...(proxyBytes > 0 ? { proxyBytes } : {}),
    },
  };
  return { result, tokens: result.stats.totalTokens };
}
