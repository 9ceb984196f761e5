import type { Config } from "@orbweaver/config";
import type { BlobStore } from "@orbweaver/storage";
import type { Db, KeyAccount } from "@orbweaver/db";
import type { JobSecretsStore, ScrapeJobData } from "@orbweaver/queue";
import type { CrawlJobData } from "@orbweaver/queue";
import type { Llm } from "@orbweaver/extract";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { UrlChecker } from "./url-checker.ts";
import type { JobWriter } from "./use-cases/job-writer.ts";
import type { KeyCache } from "./use-cases/key-cache.ts";

/** Everything the gateway needs, built by server.ts (or a test) and handed to buildApp. */
export interface ApiDeps {
  config: Config;
  db: Db;
  /** Producer connection: fails fast. */
  redis: Redis;
  scrapeQueue: Queue<ScrapeJobData>;
  crawlQueue: Queue<CrawlJobData>;
  /** The model for synchronous re-extraction of one crawled page; null when none is configured. */
  llm: Llm | null;
  checkUrl: UrlChecker;
  blobs: BlobStore;
  /** Turns a stored `blob:<key>` reference into a signed link (anything else passes through). */
  signBlob(ref: string | null | undefined): string | null;
  /** HMAC secret of file links. */
  secret: string;
  /** Sealed per-job secrets (cookies) for the workers; never stored. */
  secrets: JobSecretsStore;
  /** Countries the configured upstream proxies serve (`useProxy`). */
  proxies: { configured: boolean; supports(country: string | undefined): boolean };
  /** Writes scrape jobs, grouping one account's concurrent submits into one transaction. */
  jobWriter: JobWriter;
  /** Readiness probe of Postgres. */
  pingDb(): Promise<void>;
}

declare module "fastify" {
  interface FastifyInstance {
    deps: ApiDeps;
    keyCache: KeyCache;
  }
  interface FastifyRequest {
    account: KeyAccount;
  }
}
