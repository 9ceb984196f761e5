import { createServer } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, getJob, isDbUnavailable, type DbHandle } from "../src/index.ts";

const url = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test";
const handles: DbHandle[] = [];
function open(connectionString: string, max = 2): DbHandle {
  const handle = createDb({ url: connectionString, max });
  handles.push(handle);
  return handle;
}
afterAll(async () => {
  for (const h of handles) await h.close().catch(() => undefined);
});

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function failure(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  throw new Error("expected the query to fail");
}

describe("isDbUnavailable", () => {
  it("is true for a server that refuses connections, through drizzle's wrapper", async () => {
    const port = await closedPort();
    const { db, pool } = open(`postgres://postgres@127.0.0.1:${port}/none`);
    const raw = await failure(pool.query("select 1"));
    expect((raw as { code?: string }).code).toBe("ECONNREFUSED");
    expect(isDbUnavailable(raw)).toBe(true);
    const wrapped = await failure(getJob(db, "00000000-0000-4000-8000-000000000000"));
    expect((wrapped as Error).cause).toBeDefined();
    expect(isDbUnavailable(wrapped)).toBe(true);
  });

  it("is true for a session the server terminates (57P01)", async () => {
    const victim = open(url, 1);
    const killer = open(url, 1);
    const pid = (await victim.pool.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]?.pid;
    const running = failure(victim.db.execute(sql`select pg_sleep(10)`));
    await new Promise((r) => setTimeout(r, 300));
    await killer.pool.query("select pg_terminate_backend($1)", [pid]);
    const err = await running;
    expect(isDbUnavailable(err)).toBe(true);
  });

  it("is false for errors the database reports about the query itself, and for non-errors", async () => {
    const { db, pool } = open(url);
    expect(isDbUnavailable(await failure(pool.query("select * from no_such_table_here")))).toBe(false);
    expect(isDbUnavailable(await failure(db.execute(sql`select 1/0`)))).toBe(false);
    expect(isDbUnavailable(new Error("Connection terminated unexpectedly, or so they say"))).toBe(false);
    expect(isDbUnavailable("ECONNREFUSED")).toBe(false);
    expect(isDbUnavailable(undefined)).toBe(false);
  });
});
