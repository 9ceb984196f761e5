import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { accountWith, scrapeRow as scrape } from "./helpers/job-rows.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/**
 * Audit of the scrape logs (§9), usage (§10) and their pagination (§14). Job rows are written
 * straight into Postgres (no worker runs): the cases are about how the gateway reads them.
 */

let stack: TestStack;

type Log = Record<string, unknown> & { uuid: string; status: string; error_message: string | null };
type Logs = { status: string; data: { logs: Log[]; total: number; page: number; limit: number } };
type Usage = { status: string; data: Array<{ date: string; requests: number; credits: number }> };

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const logs = (key: string, query = "") => call<Logs>(`${stack.api}/scrape-logs${query}`, { key });

describe("scrape logs filters", () => {
  it("treats an empty status or date filter as no filter, as an empty searchTerm or channel already is", async () => {
    const { key } = await accountWith(stack, [
      scrape("http://a.test/1"),
      scrape("http://a.test/2", { status: "failed", error: "boom", creditsUsed: 0 }),
      scrape("http://a.test/3", { status: "waiting", creditsUsed: 0 }),
    ]);
    for (const q of ["?status=", "?dateStart=", "?dateEnd=", "?status=%20&dateStart=&dateEnd=&searchTerm=&channel="]) {
      const res = await logs(key, q);
      expect(res.status, `${q}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.data.total, q).toBe(3);
    }
    // A real value still filters, and a malformed one is still refused.
    expect((await logs(key, "?status=error&dateStart=")).body.data.total).toBe(1);
    expect((await logs(key, "?status=nope")).status).toBe(400);
    expect((await logs(key, "?dateStart=yesterday")).status).toBe(400);
  });

  it("gives a batch item cancelled before it ran an error message in its log", async () => {
    const { key, ids } = await accountWith(stack, [
      scrape("http://a.test/cancelled", {
        status: "cancelled",
        creditsUsed: 0,
        batchId: "00000000-0000-4000-8000-000000000001",
        finishedAt: new Date(),
      }),
    ]);
    const list = await logs(key, "?status=failed");
    expect(list.body.data.logs.map((l) => [l.uuid, l.status, l.error_message])).toEqual([
      [ids[0], "error", "Cancelled"],
    ]);
    const detail = await call<{ data: Log }>(`${stack.api}/scrape-logs/${ids[0]}`, { key });
    expect(detail.body.data).toMatchObject({ status: "error", error_message: "Cancelled" });
  });
});

describe("scrape logs pagination", () => {
  it("pages through rows sharing one timestamp without skipping or repeating any, newest first otherwise", async () => {
    const at = new Date("2026-01-05T10:00:00Z");
    const { key, ids } = await accountWith(stack, [
      ...Array.from({ length: 23 }, (_, i) => scrape(`http://a.test/same/${i}`, { createdAt: at })),
      scrape("http://a.test/newer", { createdAt: new Date(at.getTime() + 1000) }),
      scrape("http://a.test/older", { createdAt: new Date(at.getTime() - 1000) }),
    ]);
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const res = await logs(key, `?page=${page}&limit=7`);
      expect(res.body.data).toMatchObject({ total: 25, page, limit: 7 });
      seen.push(...res.body.data.logs.map((l) => l.uuid));
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen[0]).toBe(ids[23]);
    expect(seen[24]).toBe(ids[24]);
    expect((await logs(key, "?limit=100")).body.data.logs.map((l) => l.uuid)).toEqual(seen);
    // Past the end: an empty page with the total, not an error.
    expect((await logs(key, "?page=5&limit=7")).body.data).toMatchObject({ logs: [], total: 25, page: 5 });
  });
});

describe("usage statistics against the jobs", () => {
  it("counts a job in the UTC day it was created, on both sides of midnight", async () => {
    const midnight = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    await stack.createKey(1); // another account's usage never shows
    const { key } = await accountWith(stack, [
      scrape("http://a.test/before", { createdAt: new Date(midnight.getTime() - 1) }),
      scrape("http://a.test/after", { createdAt: midnight, creditsUsed: 3 }),
    ]);
    const res = await call<Usage>(`${stack.api}/usage-stats?range=7d`, { key });
    const [yesterday, today] = res.body.data.slice(-2);
    expect(today).toMatchObject({ date: midnight.toISOString().slice(0, 10), requests: 1, credits: 3 });
    expect(yesterday).toMatchObject({
      date: new Date(midnight.getTime() - 1).toISOString().slice(0, 10),
      requests: 1,
      credits: 2,
    });
  });
});
