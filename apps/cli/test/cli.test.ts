import { hashApiKey } from "@orbweaver/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";
import { testEnv } from "./helpers/test-env.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const balance = (accountId: string) => stack.balance(accountId);

describe("orbweaver CLI", () => {
  it("migrates idempotently", async () => {
    for (let i = 0; i < 2; i += 1) {
      const res = await runCli(["migrate"], stack.env);
      expect(res.code, res.output).toBe(0);
      expect(res.stdout).toContain("migrations applied");
    }
  });

  it("creates a key printed once as one JSON line, adds credits and revokes the key", async () => {
    const created = await runCli(["keys", "create", "--name", "cli-test", "--credits", "7", "--json"], stack.env);
    expect(created.code, created.output).toBe(0);
    const lines = created.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const { key, accountId } = JSON.parse(lines[0]!) as { key: string; accountId: string };
    expect(key).toMatch(/^spd_/);
    expect(await balance(accountId)).toBe(7);
    // Only the hash is stored.
    const stored = await stack.pool.query(
      "select count(*)::int as n from api_keys where key_hash = $1 or key_prefix = $1",
      [key],
    );
    expect(stored.rows[0].n).toBe(0);
    expect((await call(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key })).status).toBe(404);

    const added = await runCli(["credits", "add", "--account", accountId, "--credits", "5"], stack.env);
    expect(added.code, added.output).toBe(0);
    expect(await balance(accountId)).toBe(12);

    const revoked = await runCli(["keys", "revoke", "--key", key], stack.env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await call(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key })).status).toBe(403);
  });

  it("explains bad usage and bad settings instead of crashing", async () => {
    const usage = await runCli(["keys", "create"], stack.env);
    expect(usage.code).toBe(64);
    expect(usage.output).toContain("--name is required");
    const unknownAccount = await runCli(["credits", "add", "--account", "nope", "--credits", "5"], stack.env);
    expect(unknownAccount.code).toBe(1);
    const badSetting = await runCli(["migrate"], testEnv({ PORT: "not-a-port", WORKER_CONCURRENCY: "0" }));
    expect(badSetting.code).toBe(2);
    expect(badSetting.output).toContain("PORT");
    expect(badSetting.output).toContain("WORKER_CONCURRENCY");
  });

  it("creates the bootstrap account on first start, once", async () => {
    const bootstrapKey = `spd_boot_${Date.now()}`;
    for (let i = 0; i < 2; i += 1) {
      const s = await startTestStack({
        worker: false,
        env: { ORBWEAVER_BOOTSTRAP_KEY: bootstrapKey, BOOTSTRAP_CREDITS: "50" },
      });
      const res = await call(`${s.api}/scrape/00000000-0000-0000-0000-000000000000`, { key: bootstrapKey });
      expect(res.status).toBe(404);
      await s.stop();
    }
    const rows = await stack.pool.query(
      "select a.credits_balance from accounts a join api_keys k on k.account_id = a.id where k.key_hash = $1",
      [hashApiKey(bootstrapKey)],
    );
    expect(rows.rows.map((r: { credits_balance: string }) => Number(r.credits_balance))).toEqual([50]);
  });
});
