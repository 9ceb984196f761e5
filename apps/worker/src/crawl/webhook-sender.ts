import { createHmac } from "node:crypto";
import type { NetworkPolicy } from "@orbweaver/browser";
import { ensureWebhookSecret, type CrawlRow, type Db } from "@orbweaver/db";
import type { Logger } from "pino";
import { guardedRequest } from "./guarded-request.ts";

/** Delivery attempts per event and the pause before each retry (then the event is dropped). */
export const WEBHOOK_RETRY_DELAYS_MS = [1000, 3000] as const;
const WEBHOOK_TIMEOUT_MS = 10_000;
/** `data` of a `crawl.page` event larger than this is left out (`data_omitted: true`). */
const MAX_PAGE_DATA_BYTES = 256 * 1024;

export type CrawlEvent =
  | { event: "crawl.page"; jobId: string; page: Record<string, unknown> }
  | { event: "crawl.completed"; jobId: string; pagesScraped: number; creditsUsed: number }
  | { event: "crawl.failed"; jobId: string; error: string };

/** `sha256=<hex HMAC-SHA256 of the raw body>` (the `X-Spidra-Signature` header, §8.4). */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Caps a page's `data` so one huge page cannot make every delivery huge. */
export function pageEventData(data: unknown): { data: unknown } | { data: null; data_omitted: true } {
  const size = Buffer.byteLength(JSON.stringify(data ?? null));
  return size > MAX_PAGE_DATA_BYTES ? { data: null, data_omitted: true } : { data };
}

/** Senders with events not yet delivered or given up (see {@link drainCrawlWebhooks}). */
const undelivered = new Set<WebhookSender>();

/**
 * Resolves once every crawl event sent in this process so far was delivered or given up: a worker
 * shutting down waits for it (within its deadline), so the events of crawls it finished, retries
 * included, are not lost with the process.
 */
export async function drainCrawlWebhooks(): Promise<void> {
  while (undelivered.size > 0) await Promise.all([...undelivered].map((s) => s.drain()));
}

/**
 * Posts a crawl's events to its webhook, signed with the account's secret, in the order they were
 * sent, in the background: the crawl never waits for the receiver. Each event is tried three
 * times with backoff; the SSRF rule applies to every connection.
 */
export class WebhookSender {
  private chain: Promise<void> = Promise.resolve();
  private secret: string | undefined;

  constructor(
    private readonly opts: {
      url: string;
      policy: NetworkPolicy;
      /** The account's signing secret, created on first need. */
      secret: () => Promise<string>;
      log: Logger;
      /** Pauses before each retry; default {@link WEBHOOK_RETRY_DELAYS_MS}. */
      retryDelaysMs?: readonly number[];
    },
  ) {}

  send(event: CrawlEvent): void {
    undelivered.add(this);
    const chain = this.chain.then(() => this.deliver(event)).catch(() => undefined);
    this.chain = chain;
    void chain.then(() => {
      if (this.chain === chain) undelivered.delete(this);
    });
  }

  /** Resolves once every event sent so far was delivered or given up (tests, shutdown). */
  async drain(): Promise<void> {
    await this.chain;
  }

  private async deliver(event: CrawlEvent): Promise<void> {
    const body = JSON.stringify(event);
    let signature: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let error: string | null;
      try {
        // Read once per sender; a failure to read it (Postgres unavailable) is retried as a failed delivery.
        this.secret ??= await this.opts.secret();
        signature ??= signWebhookBody(this.secret, body);
        error = await this.post(body, signature, event.event);
      } catch (err) {
        error = `the signing secret could not be read: ${(err as Error).message}`;
      }
      if (error === null) return;
      const delay = (this.opts.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS)[attempt];
      if (delay === undefined) {
        this.opts.log.warn({ event: event.event, error, attempts: attempt + 1 }, "webhook delivery given up");
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** null on a 2xx answer, else why not. */
  private async post(body: string, signature: string, event: string): Promise<string | null> {
    // Each attempt checks the address again: a name may resolve elsewhere than at submit time.
    try {
      const res = await guardedRequest({
        url: this.opts.url,
        policy: this.opts.policy,
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "user-agent": "Orbweaver-Webhook/1",
          "x-spidra-signature": signature,
          "x-spidra-event": event,
        },
        timeoutMs: WEBHOOK_TIMEOUT_MS,
        maxBytes: 64 * 1024,
      });
      return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

/** The sender of a crawl's events, signed with its account's secret; null when it has no webhook. */
export function crawlWebhookSender(
  deps: { db: Db; policy: NetworkPolicy; log: Logger },
  crawl: Pick<CrawlRow, "webhookUrl" | "accountId">,
): WebhookSender | null {
  if (!crawl.webhookUrl) return null;
  return new WebhookSender({
    url: crawl.webhookUrl,
    policy: deps.policy,
    secret: async () => (await ensureWebhookSecret(deps.db, crawl.accountId)) ?? "",
    log: deps.log,
  });
}
