import { checkTargetUrl } from "@orbweaver/browser";
import type { Config } from "@orbweaver/config";
import { createDb, getInstanceSecret } from "@orbweaver/db";
import { createBlobStore } from "@orbweaver/storage";
import { blobSigner } from "./use-cases/blob-signer.ts";
import { createJobWriter } from "./use-cases/job-writer.ts";
import {
  closeQueuesAndConnection,
  createCrawlQueue,
  createJobSecretsStore,
  createRedisConnection,
  createScrapeQueue,
} from "@orbweaver/queue";
import { createLlm } from "@orbweaver/extract";
import { proxyCountries } from "./use-cases/check-request-options.ts";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import { ensureBootstrapAccount } from "./bootstrap-account.ts";

/** Starts the gateway on config.host:config.port; `close()` stops taking requests and releases everything. */
export async function startApi(config: Config): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const dbHandle = createDb({ url: config.databaseUrl, statementTimeoutMs: config.dbStatementTimeoutMs });
  const redis = createRedisConnection(config.redisUrl, "producer");
  const scrapeQueue = createScrapeQueue({
    connection: redis,
    prefix: config.queuePrefix,
    attempts: config.jobs.attempts,
  });
  const crawlQueue = createCrawlQueue({
    connection: redis,
    prefix: config.queuePrefix,
    attempts: config.jobs.attempts,
  });
  const llm = createLlm({
    baseUrl: config.llm.baseUrl,
    apiKey: config.llm.apiKey,
    model: config.llm.model,
    timeoutMs: config.llm.timeoutMs,
    structuredOutput: config.llm.structuredOutput,
    maxRetries: 1,
  });
  const secret = await getInstanceSecret(dbHandle.db, config.secret);
  const blobs = await createBlobStore(config);
  const app = await buildApp({
    config,
    db: dbHandle.db,
    redis,
    scrapeQueue,
    crawlQueue,
    llm,
    checkUrl: (url) => checkTargetUrl(url, config.network),
    blobs,
    secret,
    secrets: createJobSecretsStore({ redis, prefix: config.queuePrefix, secret }),
    proxies: proxyCountries(config.proxyPool),
    signBlob: blobSigner({ publicUrl: config.publicUrl, secret }),
    jobWriter: createJobWriter(dbHandle.db),
    pingDb: async () => {
      await dbHandle.pool.query("select 1");
    },
  });
  app.addHook("onClose", async () => {
    await closeQueuesAndConnection(redis, [scrapeQueue, crawlQueue]);
    await dbHandle.close();
    await blobs.close();
  });
  const bootstrap = await ensureBootstrapAccount(dbHandle.db, config);
  if (bootstrap === "created") app.log.info("bootstrap account created for ORBWEAVER_BOOTSTRAP_KEY");
  await app.listen({ host: config.host, port: config.port }).catch(async (err: Error) => {
    await app.close().catch(() => undefined);
    // A bad HOST (ENOTFOUND) or a PORT in use (EADDRINUSE): name the settings, not only the syscall.
    throw new Error(`HOST, PORT: cannot listen on ${config.host}:${config.port}: ${err.message}`);
  });
  return { app, close: () => app.close() };
}
