/** Item states of §7.2, from the state of the item's current job. */
export type BatchItemStatus = "pending" | "running" | "completed" | "failed" | "cancelled";
export type BatchStatus = "pending" | "running" | "completed" | "failed" | "cancelled";

export function itemStatusOf(jobStatus: string): BatchItemStatus {
  switch (jobStatus) {
    case "active":
      return "running";
    case "completed":
    case "failed":
    case "cancelled":
      return jobStatus;
    default:
      return "pending";
  }
}

export interface ItemCounts {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/**
 * pending: no item started; running: at least one started and not all terminal, or a retry's items
 * not done yet (§7.3: a retried batch is `running`); completed: every item terminal, even when some
 * failed (never `partial`, D24). `cancelled`/`failed` are the batch's own.
 */
export function deriveBatchStatus(batch: { state: string; retriedAt: Date | null }, counts: ItemCounts): BatchStatus {
  if (batch.state === "cancelled") return "cancelled";
  if (batch.state === "failed") return "failed";
  const terminal = counts.completed + counts.failed + counts.cancelled;
  if (counts.total > 0 && terminal >= counts.total) return "completed";
  if (counts.running > 0 || terminal > 0 || batch.retriedAt !== null) return "running";
  return "pending";
}
