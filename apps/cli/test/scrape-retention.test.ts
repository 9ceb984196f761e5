// Job retention (contract §5.4): a completed scrape is readable at GET /scrape/{id} for about an hour
// after it finished, a failed one for 24 hours, then 404 in the envelope; the scrape logs keep the
// result. The windows are settings; this stack shortens them to seconds so the test sees them pass.
import type { FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { call, pollScrape, submitScrape } from "./helpers/http.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let site: FixtureSite;

useStarted(
  () =>
    startSiteAndStack({
      env: { SCRAPE_RESULT_RETENTION_MS: "4000", FAILED_SCRAPE_RETENTION_MS: "8000" },
    }),
  (started) => ({ site, stack } = started),
);

interface Envelope {
  status: string;
  message: string;
  code?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("scrape retention", () => {
  it("a completed scrape answers until its window passes, then 404; a failed one keeps its longer window; the logs keep both", async () => {
    const { key } = await stack.createKey(20);
    const ok = await submitScrape(stack.api, key, site.url("/product/1"));
    const bad = await submitScrape(stack.api, key, site.url("/status/503"));
    const done = (await pollScrape(stack.api, key, ok, 60_000)).final;
    const failed = (await pollScrape(stack.api, key, bad, 60_000)).final;
    expect(done.status).toBe("completed");
    expect(failed.status).toBe("failed");
    // Polled again at once (now from the gateway's cache of finished answers): the same answer.
    expect((await call(`${stack.api}/scrape/${ok}`, { key })).body).toEqual(done);

    const finishedAt = async (id: string) =>
      (
        (await stack.pool.query("select finished_at from jobs where id = $1", [id])).rows[0].finished_at as Date
      ).getTime();
    const okEnds = (await finishedAt(ok)) + 4000;
    const badEnds = (await finishedAt(bad)) + 8000;
    await sleep(Math.max(0, okEnds - Date.now()) + 300);

    // Past 4 s: the completed one is gone from GET /scrape (even though its answer was cached), in the envelope.
    const gone = await call<Envelope>(`${stack.api}/scrape/${ok}`, { key });
    expect(gone.status).toBe(404);
    expect(gone.body.status).toBe("error");
    expect(gone.body.message).toMatch(/completed scrape is readable here for 4 seconds/);
    expect(gone.body.message).toContain(`/scrape-logs/${ok}`);
    // The failed one is still readable within its own window.
    expect(Date.now()).toBeLessThan(badEnds);
    expect((await call<{ status: string }>(`${stack.api}/scrape/${bad}`, { key })).body.status).toBe("failed");
    await sleep(Math.max(0, badEnds - Date.now()) + 300);
    const badGone = await call<Envelope>(`${stack.api}/scrape/${bad}`, { key });
    expect(badGone.status).toBe(404);
    expect(badGone.body.message).toMatch(/failed scrape is readable here for 8 seconds/);

    // The logs keep both, with the result.
    const log = await call<{ data: { status: string; result_data: unknown } }>(`${stack.api}/scrape-logs/${ok}`, {
      key,
    });
    expect(log.status).toBe(200);
    expect(JSON.stringify(log.body.data.result_data)).toContain("$39.99");
    expect(
      (await call<{ data: { status: string } }>(`${stack.api}/scrape-logs/${bad}`, { key })).body.data.status,
    ).toBe("error");
  });
});
