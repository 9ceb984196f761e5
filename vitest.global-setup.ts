import { ensureDatabase, runMigrations } from "@orbweaver/db";

/** Every test file shares one migrated database; each test isolates itself with its own accounts and queue prefix. */
export default async function setup(): Promise<void> {
  process.env.TEST_DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/orbweaver_test";
  process.env.TEST_REDIS_URL ??= "redis://127.0.0.1:6379";
  await ensureDatabase(process.env.TEST_DATABASE_URL);
  await runMigrations(process.env.TEST_DATABASE_URL);
}
