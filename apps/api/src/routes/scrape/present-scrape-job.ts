import type { ScrapeResult, ScrapeStatusResponse } from "@orbweaver/contract";
import type { JobRow } from "@orbweaver/db";

/** Maps a job row to the §5.4 poll body; every key is present in every state. */
export function presentScrapeJob(row: JobRow): ScrapeStatusResponse {
  const body: ScrapeStatusResponse = {
    status: row.status,
    jobId: row.id,
    progress: (row.progress as ScrapeStatusResponse["progress"]) ?? null,
    result: row.status === "completed" ? ((row.result as ScrapeResult | null) ?? emptyResult()) : null,
    error: row.status === "failed" ? (row.error ?? "Scrape failed") : null,
  };
  if (row.schemaWarnings && row.schemaWarnings.length > 0) body.schema_warnings = row.schemaWarnings;
  return body;
}

function emptyResult(): ScrapeResult {
  return {
    content: "",
    data: [],
    screenshots: [],
    ai_extraction_failed: false,
    stats: { durationMs: 0, captchaSolvedCount: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  };
}
