import type { NormalizedScrapeRequest, ScrapeResult } from "@orbweaver/contract";
import type { JobRow } from "@orbweaver/db";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function logStatus(status: string): "success" | "error" | "in_progress" {
  if (status === "completed") return "success";
  if (status === "failed" || status === "cancelled") return "error";
  return "in_progress";
}

/** A scrape job as a §9 log record (snake_case, integers, `use_proxy` as 0/1). */
export function presentLog(row: JobRow) {
  const request = row.request as Partial<NormalizedScrapeRequest>;
  const stats = (row.stats ?? {}) as Partial<ScrapeResult["stats"]>;
  const inputTokens = stats.inputTokens ?? 0;
  const outputTokens = stats.outputTokens ?? 0;
  const latency =
    stats.durationMs ?? (row.finishedAt && row.startedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null);
  return {
    uuid: row.id,
    urls: (request.urls ?? []).map((u) => ({ url: u.url })),
    extraction_prompt: request.prompt ?? null,
    status: logStatus(row.status),
    channel: row.channel,
    credits_used: row.creditsUsed,
    started_at: (row.startedAt ?? row.createdAt).toISOString(),
    finished_at: iso(row.finishedAt),
    // A batch item cancelled before it ran has no error text of its own; its log still says why.
    error_message: row.error ?? (row.status === "cancelled" ? "Cancelled" : null),
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    tokens_used: inputTokens + outputTokens,
    latency_ms: latency === null ? null : Math.round(latency),
    ai_output_format: request.output ?? (request.prompt || request.schema ? "json" : null),
    use_proxy: request.useProxy ? 1 : 0,
    proxy_country: request.proxyCountry ?? null,
    proxy_bandwidth_mb: Math.round(((stats.proxyBytes ?? 0) / 1_048_576) * 1000) / 1000,
  };
}

export function presentLogDetail(row: JobRow) {
  const result = row.result as ScrapeResult | null;
  const stats = (row.stats ?? {}) as Partial<ScrapeResult["stats"]>;
  return {
    ...presentLog(row),
    captcha_solved_count: stats.captchaSolvedCount ?? 0,
    scraped_sites_count: result ? result.data.filter((d) => d.success).length : 0,
    result_data: result ? result.content : null,
  };
}
