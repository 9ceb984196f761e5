import type { ScrapeResult, ScrapeStatusResponse } from "@orbweaver/contract";
import type { JobRow } from "@orbweaver/db";

/** Maps a job row to the §5.4 poll body; every key is present in every state. */
export function presentScrapeJob(row: JobRow, signBlob: (ref: string | null) => string | null): ScrapeStatusResponse {
  // A cancelled batch item reads as failed: scrape clients know no `cancelled` state (§5.4).
  const status = row.status === "cancelled" ? "failed" : row.status;
  const body: ScrapeStatusResponse = {
    status,
    jobId: row.id,
    progress: (row.progress as ScrapeStatusResponse["progress"]) ?? null,
    result: status === "completed" ? signResult((row.result as ScrapeResult | null) ?? emptyResult(), signBlob) : null,
    error:
      status === "failed"
        ? (row.error ?? (row.status === "cancelled" ? "The job was cancelled" : "Scrape failed"))
        : null,
  };
  if (row.schemaWarnings && row.schemaWarnings.length > 0) body.schema_warnings = row.schemaWarnings;
  return body;
}

/** Stored screenshot references become signed links at read time. */
function signResult(result: ScrapeResult, signBlob: (ref: string | null) => string | null): ScrapeResult {
  return {
    ...result,
    data: result.data.map((d) => ({ ...d, screenshotUrl: signBlob(d.screenshotUrl) })),
    screenshots: result.screenshots.map((s) => signBlob(s) ?? s),
  };
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
