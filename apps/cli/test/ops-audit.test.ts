import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/** What an operator meets first: the CLI's commands and messages as the README shows them. */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const balance = (accountId: string) => stack.balance(accountId);

/** A database URL like the stack's, naming another database. */
const otherDatabase = (name: string) => {
  const url = new URL(stack.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
};

describe("operator CLI (ops audit)", () => {
  it("removes credits with `credits add --credits -N` as the README shows, and refuses amounts a balance cannot hold", async () => {
    const created = await runCli(["keys", "create", "--name", "ops-neg", "--credits", "100", "--json"], stack.env);
    expect(created.code, created.output).toBe(0);
    const { accountId } = JSON.parse(created.stdout.trim()) as { accountId: string };

    const removed = await runCli(["credits", "add", "--account", accountId, "--credits", "-30"], stack.env);
    expect(removed.code, removed.output).toBe(0);
    expect(removed.stdout).toContain("balance: 70");
    expect(await balance(accountId)).toBe(70);

    const tooMuch = await runCli(["credits", "add", "--account", accountId, "--credits", "-500"], stack.env);
    expect(tooMuch.code, tooMuch.output).toBe(1);
    expect(tooMuch.output).toContain("below zero");
    expect(await balance(accountId)).toBe(70);

    const huge = await runCli(["credits", "add", "--account", accountId, "--credits", "1e12"], stack.env);
    expect(huge.code, huge.output).toBe(64);
    expect(huge.output).toContain("--credits must be a number from");
    expect(huge.output).not.toContain("Failed query");

    const negativeStart = await runCli(["keys", "create", "--name", "ops-neg2", "--credits", "-5"], stack.env);
    expect(negativeStart.code, negativeStart.output).toBe(64);
    expect(negativeStart.output).toContain("--credits must be a number from 0");
    expect(negativeStart.output).not.toContain("Failed query");
  });

  it("prints the key id `keys revoke --id` takes, and answers a malformed id with 'no active key matched'", async () => {
    const created = await runCli(["keys", "create", "--name", "ops-id", "--credits", "5", "--json"], stack.env);
    expect(created.code, created.output).toBe(0);
    const { key, keyId } = JSON.parse(created.stdout.trim()) as { key: string; keyId: string };
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);

    const malformed = await runCli(["keys", "revoke", "--id", "not-a-uuid"], stack.env);
    expect(malformed.code, malformed.output).toBe(1);
    expect(malformed.output).toContain("no active key matched");
    expect(malformed.output).not.toContain("Failed query");

    const revoked = await runCli(["keys", "revoke", "--id", keyId], stack.env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await call(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key })).status).toBe(403);
  });

  it("refuses stray arguments to migrate instead of ignoring them", async () => {
    for (const args of [
      ["migrate", "now"],
      ["migrate", "--force"],
    ]) {
      const res = await runCli(args, stack.env);
      expect(res.code, res.output).toBe(64);
      expect(res.output).toContain("Usage:");
    }
  });

  it("says to migrate, without the failed statement's parameters, when the database is missing or not migrated", async () => {
    const missing = await runCli(["keys", "create", "--name", "x"], {
      ...stack.env,
      DATABASE_URL: otherDatabase(`orbweaver_test_h3_missing_${randomUUID().slice(0, 8)}`),
    });
    expect(missing.code, missing.output).toBe(1);
    expect(missing.output).toContain("does not exist");
    expect(missing.output).toContain("db:migrate");

    const unreachable = await runCli(["start", "--role", "api"], {
      ...stack.env,
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/orbweaver",
    });
    expect(unreachable.code, unreachable.output).toBe(1);
    expect(unreachable.output).toContain("ECONNREFUSED");
    expect(unreachable.output).not.toContain("Failed query");

    const name = `orbweaver_test_h3_empty_${randomUUID().slice(0, 8)}`;
    await stack.pool.query(`create database "${name}"`);
    try {
      const env = { ...stack.env, DATABASE_URL: otherDatabase(name) };
      const start = await runCli(["start", "--role", "api"], env);
      expect(start.code, start.output).toBe(1);
      expect(start.output).toContain("not migrated");
      expect(start.output).toContain("db:migrate");
      // The generated instance secret was a parameter of the failed insert: never printed.
      expect(start.output).not.toContain("params:");
      expect(start.output).not.toContain("Failed query");
      const create = await runCli(["keys", "create", "--name", "x", "--credits", "5"], env);
      expect(create.code, create.output).toBe(1);
      expect(create.output).toContain("not migrated");
      expect(create.output).not.toContain("params:");
    } finally {
      await stack.pool.query(`drop database if exists "${name}" with (force)`);
    }
  });

  it("stops a worker whose CHROMIUM_PATH or PROXY_POOL is bad, naming the setting", async () => {
    const noBrowser = await runCli(["start", "--role", "worker"], {
      ...stack.env,
      CHROMIUM_PATH: "/nonexistent/chromium",
    });
    expect(noBrowser.code, noBrowser.output).toBe(1);
    expect(noBrowser.output).toContain("CHROMIUM_PATH");
    expect(noBrowser.output).not.toMatch(/\n\s+at /);

    const badPool = await runCli(["start", "--role", "worker"], { ...stack.env, PROXY_POOL: "not-a-proxy" });
    expect(badPool.code, badPool.output).toBe(1);
    expect(badPool.output).toContain("PROXY_POOL");
  });

  it("stops the API with a message naming HOST and PORT when it cannot listen", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const res = await runCli(["start", "--role", "api"], { ...stack.env, HOST: "127.0.0.1", PORT: String(port) });
      expect(res.code, res.output).toBe(1);
      expect(res.output).toContain("HOST, PORT: cannot listen on 127.0.0.1:");
      expect(res.output).toContain("EADDRINUSE");
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
