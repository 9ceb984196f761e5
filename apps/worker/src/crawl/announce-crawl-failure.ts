import type { NetworkPolicy } from "@orbweaver/browser";
import { getCrawl, type Db } from "@orbweaver/db";
import type { Logger } from "pino";
import { crawlWebhookSender } from "./webhook-sender.ts";

/**
 * Sends `crawl.failed` for a crawl failed outside its own attempt (the reconciler giving it up),
 * exactly as an attempt that fails sends it: signed, retried, in the background. Nothing is sent
 * for a crawl without a webhook.
 */
export async function announceCrawlFailure(
  deps: { db: Db; policy: NetworkPolicy; log: Logger },
  opts: { crawlId: string; error: string },
): Promise<void> {
  const found = await getCrawl(deps.db, opts.crawlId);
  if (!found) return;
  const sender = crawlWebhookSender({ ...deps, log: deps.log.child({ crawlId: opts.crawlId }) }, found.crawl);
  sender?.send({ event: "crawl.failed", jobId: opts.crawlId, error: opts.error });
}
