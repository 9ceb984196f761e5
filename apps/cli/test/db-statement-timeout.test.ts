// DB_STATEMENT_TIMEOUT_MS: a request whose database work cannot finish (here: a submit stuck behind
// a lock another session holds on its account) is answered 503 SERVICE_BUSY once Postgres cancels
// the statement, instead of hanging; nothing of it is written or charged, and the next submit passes.
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

beforeAll(async () => {
  site = await startFixtureSite();
  // No worker: the accepted job only has to be queued.
  stack = await startTestStack({ env: { DB_STATEMENT_TIMEOUT_MS: "500" }, worker: false });
});

afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

describe("database statement timeout", () => {
  it("answers a submit stuck in the database 503 SERVICE_BUSY, writes and charges nothing, and recovers", async () => {
    const { key, accountId } = await stack.createKey(10);
    const body = { urls: [{ url: site.url("/") }] };
    // Another session holds the account's submit lock (the one every submit of this account takes).
    const holder = await stack.pool.connect();
    try {
      await holder.query("select pg_advisory_lock(hashtextextended($1, 0))", [accountId]);
      const stuck = await call(`${stack.api}/scrape`, { key, body });
      expect(stuck.status).toBe(503);
      expect(stuck.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
      expect(stuck.headers.get("retry-after")).toBe("5");
    } finally {
      await holder.query("select pg_advisory_unlock_all()").catch(() => undefined);
      holder.release();
    }
    const written = async () => {
      const { rows } = await stack.pool.query<{ jobs: number; reasons: string[]; balance: string }>(
        `select (select count(*)::int from jobs where account_id = $1) as jobs,
                (select array_agg(reason order by created_at) from credit_ledger where account_id = $1) as reasons,
                (select credits_balance from accounts where id = $1) as balance`,
        [accountId],
      );
      return rows[0];
    };
    expect(await written()).toEqual({ jobs: 0, reasons: ["grant"], balance: "10.0000" });

    const accepted = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
    expect(accepted.status).toBe(202);
    expect(await written()).toEqual({ jobs: 1, reasons: ["grant", "reserve"], balance: "8.0000" });
  });
});
