import type { Config } from "@orbweaver/config";

/** What the retention rule reads of a job row. */
export interface RetainedJob {
  status: string;
  batchId: string | null;
  finishedAt: Date | null;
}

/**
 * How long a finished single scrape stays readable at GET /scrape/{id} (`keepMs`) and when that ends
 * (epoch ms), or null when it does not expire: still running, a batch item (it lives as long as its
 * batch), or retention off. The contract's rule: a completed result is readable for about an hour, a
 * failed one for 24 hours, then 404; the scrape logs keep it (GET /scrape-logs/{id}).
 */
export function scrapeRetention(
  row: RetainedJob,
  limits: Config["limits"],
): { keepMs: number; expiresAt: number } | null {
  if (row.batchId !== null || row.finishedAt === null) return null;
  const keepMs = row.status === "completed" ? limits.scrapeResultRetentionMs : limits.failedScrapeRetentionMs;
  return keepMs > 0 ? { keepMs, expiresAt: row.finishedAt.getTime() + keepMs } : null;
}

/** "1 hour", "24 hours", "90 seconds": a retention window for an error message. */
export function describeWindow(ms: number): string {
  const [amount, unit] =
    ms % 3_600_000 === 0
      ? [ms / 3_600_000, "hour"]
      : ms % 60_000 === 0
        ? [ms / 60_000, "minute"]
        : [ms / 1000, "second"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
