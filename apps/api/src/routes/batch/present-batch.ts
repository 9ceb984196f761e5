import type { BatchItem, BatchStatusResponse, ScrapeResult } from "@orbweaver/contract";
import { countItems, deriveBatchStatus, itemStatusOf, type BatchItemWithJob, type BatchRow } from "@orbweaver/db";

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** §7.2 body: counts are integers, `items[].result` is the extracted content itself (D26). */
export function presentBatch(
  batch: BatchRow,
  items: BatchItemWithJob[],
  signBlob: (ref: string | null) => string | null,
): BatchStatusResponse {
  const counts = countItems(items.map((i) => i.job.status));
  const status = deriveBatchStatus(batch, counts);
  const lastFinished = items.reduce<Date | null>(
    (max, i) => (i.job.finishedAt && (!max || i.job.finishedAt > max) ? i.job.finishedAt : max),
    null,
  );
  const body: BatchStatusResponse = {
    batchId: batch.id,
    status,
    totalUrls: batch.total,
    completedCount: counts.completed,
    failedCount: counts.failed,
    createdAt: batch.createdAt.toISOString(),
    finishedAt: batch.finishedAt ? iso(batch.finishedAt) : status === "completed" ? iso(lastFinished) : null,
    items: items.map((i) => presentItem(i, signBlob)),
  };
  if (batch.schemaWarnings && batch.schemaWarnings.length > 0) body.schema_warnings = batch.schemaWarnings;
  return body;
}

function presentItem({ item, job }: BatchItemWithJob, signBlob: (ref: string | null) => string | null): BatchItem {
  const status = itemStatusOf(job.status);
  const result = job.status === "completed" ? (job.result as ScrapeResult | null) : null;
  return {
    uuid: item.id,
    url: item.url,
    jobId: job.id,
    status,
    result: result ? result.content : null,
    error: status === "failed" ? (job.error ?? "Scrape failed") : status === "cancelled" ? "Cancelled" : null,
    creditsUsed: job.creditsUsed,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    screenshotUrl: signBlob(result?.data[0]?.screenshotUrl ?? null),
  };
}
