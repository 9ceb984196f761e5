import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Settings every test stack starts from: its own queue prefix, quick timeouts, silent logs. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test",
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    HOST: "127.0.0.1",
    PORT: "0",
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    DATA_DIR: join(tmpdir(), `orbweaver-test-${randomUUID().slice(0, 8)}`),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ALLOW_PRIVATE_NETWORK: "true",
    PAGE_TIMEOUT_MS: "6000",
    JOB_TIMEOUT_MS: "30000",
    WORKER_CONCURRENCY: "2",
    // Tests poll fast; the rate limit has its own test with a low limit.
    RATE_LIMIT_MAX: "100000",
    ...overrides,
  };
}
