// listScrapeLogs' filters: days are UTC days whatever the session's time zone, and the search term
// matches the URLs and the prompt, not the JSON around them.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createAccount, createDb, createScrapeJobs, listScrapeLogs } from "../src/index.ts";

const url = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test";
// Every connection of this handle runs at UTC-12 (POSIX spells it GMT+12), where a UTC day starts at noon.
const farWest = createDb({ url: `${url}${url.includes("?") ? "&" : "?"}options=-c%20timezone%3DEtc/GMT%2B12` });
afterAll(() => farWest.close());

async function logOf(request: Record<string, unknown>, createdAt: string) {
  const { accountId } = await createAccount(farWest.db, { name: "logs-filters", credits: 10 });
  const [created] = await createScrapeJobs(farWest.db, [
    { accountId, request, creditsToReserve: 1, maxPendingJobs: 10 },
  ]);
  if (!created?.ok) throw new Error("the job was not created");
  // Finished, so that no test's reconciler ever dispatches it.
  await farWest.db.execute(sql`update jobs set created_at = ${createdAt}::timestamptz, status = 'failed',
                                 finished_at = now(), updated_at = now() where id = ${created.jobId}`);
  return { accountId, jobId: created.jobId };
}

describe("listScrapeLogs filters", () => {
  it("takes dateStart and dateEnd as UTC days when the database session is in another time zone", async () => {
    const zone = await farWest.db.execute<{ tz: string }>(sql`select current_setting('TimeZone') as tz`);
    expect(zone.rows[0]?.tz).toBe("Etc/GMT+12");
    // 06:00 UTC on 10 March: still 9 March at UTC-12.
    const { accountId, jobId } = await logOf({ urls: [{ url: "https://example.com/a" }] }, "2026-03-10T06:00:00Z");
    const on = (dateStart: string, dateEnd: string) =>
      listScrapeLogs(farWest.db, { accountId, page: 1, limit: 10, dateStart, dateEnd });
    expect((await on("2026-03-10", "2026-03-10")).rows.map((r) => r.id)).toEqual([jobId]);
    expect((await on("2026-03-09", "2026-03-09")).total).toBe(0);
    expect((await on("2026-03-11", "2026-03-11")).total).toBe(0);
  });

  it("matches the search term in the URLs and the prompt, not in the request's keys or actions", async () => {
    const { accountId, jobId } = await logOf(
      {
        urls: [{ url: "https://shop.example/Widgets?page=2", actions: [{ type: "click", selector: "#more" }] }],
        prompt: "List the prices",
      },
      "2026-03-10T06:00:00Z",
    );
    const search = async (searchTerm: string) =>
      (await listScrapeLogs(farWest.db, { accountId, page: 1, limit: 10, searchTerm })).rows.map((r) => r.id);
    expect(await search("widgets?PAGE")).toEqual([jobId]);
    expect(await search("the prices")).toEqual([jobId]);
    for (const term of ["url", "actions", "click", "#more", "selector"]) expect(await search(term), term).toEqual([]);
  });
});
