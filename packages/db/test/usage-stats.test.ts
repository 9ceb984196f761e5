// getUsageStats: the day's latency is the average duration of its completed scrapes; a crawl, which
// runs for minutes, is counted as a crawl, not averaged in with the scrapes.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createAccount, createDb, getUsageStats } from "../src/index.ts";

const handle = createDb({ url: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test" });
const { db } = handle;
afterAll(() => handle.close());

async function finished(accountId: string, kind: "scrape" | "crawl", durationMs: number, tokens: number) {
  await db.execute(sql`insert into jobs (account_id, kind, request, status, stats, credits_used, finished_at)
    values (${accountId}, ${kind}, '{}'::jsonb, 'completed',
            ${JSON.stringify({ durationMs, totalTokens: tokens })}::jsonb, 2, now())`);
}

describe("getUsageStats", () => {
  it("averages the latency of the day's completed scrapes only", async () => {
    const { accountId } = await createAccount(db, { name: "usage-latency", credits: 0 });
    await finished(accountId, "scrape", 200, 10);
    await finished(accountId, "scrape", 400, 20);
    await finished(accountId, "crawl", 90_000, 300);
    const today = (await getUsageStats(db, { accountId, range: "7d" })).at(-1)!;
    expect(today).toMatchObject({ requests: 2, crawls: 1, tokens: 330, credits: 6, latency: 300 });
  });
});
