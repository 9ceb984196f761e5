import type { BatchScrapeRequest } from "@orbweaver/contract";
import { AppError } from "../../errors.ts";

/** Per-URL fields of `POST /scrape` that a batch item cannot carry (§7.1: per-URL actions are not supported in batch). */
const PER_URL_ONLY: Record<string, string> = {
  actions: "per-URL actions are not supported in a batch (send the URL with POST /scrape)",
  cookies:
    "per-URL cookies are not supported in a batch (send the batch's `cookies` string, or the URL with POST /scrape)",
  instruction: "a per-URL instruction is not supported in a batch (use the batch's `prompt`)",
};

/** Whether an item field says something: absent, `null`, `""` and `[]` do not (n8n sends `actions: []`). */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "string") return value.trim() !== "";
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/**
 * Refuses a batch whose `{url}` items carry per-URL actions, cookies or an instruction: the batch runs
 * every URL with the batch's own options only, so such an item would be scraped without its actions
 * or logged out, and billed, with nothing saying so. 400 naming each item (`urls[i].actions`).
 */
export function refuseItemOptions(urls: BatchScrapeRequest["urls"]): void {
  const errors: string[] = [];
  urls.forEach((item, i) => {
    if (typeof item === "string") return;
    const fields = item as Record<string, unknown>;
    for (const [field, reason] of Object.entries(PER_URL_ONLY)) {
      if (isSet(fields[field])) errors.push(`urls[${i}].${field}: ${reason}`);
    }
  });
  if (errors.length > 0) throw new AppError("VALIDATION_ERROR", `Batch item refused: ${errors[0]}`, { errors });
}
