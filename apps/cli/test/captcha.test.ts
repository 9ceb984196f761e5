import {
  CAPTCHA_ARTICLE_MARKER,
  CAPTCHA_SITE_KEYS,
  startCaptchaProvider,
  startCaptchaSite,
  startFixtureSite,
  type CaptchaProvider,
  type CaptchaSite,
  type FixtureSite,
} from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, scrapeAndWait, type PollBody } from "./helpers/http.ts";
import type { Spawned } from "./helpers/spawn.ts";
import { startSpawnedStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

// CAPTCHA walls end to end: off by default (the URL is blocked by the CAPTCHA), or solved through a
// provider speaking the createTask/getTaskResult API (the testkit's stand-in), the site itself
// checking the token the provider issued.

const SOLVER_KEY = `solver-key-${Date.now()}-q8z`;

let provider: CaptchaProvider;
let site: CaptchaSite;
let plain: FixtureSite;

beforeAll(async () => {
  provider = await startCaptchaProvider({ clientKey: SOLVER_KEY });
  site = await startCaptchaSite({ verify: (token) => provider.issued(token) });
  plain = await startFixtureSite();
});
afterAll(async () => {
  await site?.close();
  await provider?.close();
  await plain?.close();
});

interface LogDetail {
  data: { status: string; credits_used: number; captcha_solved_count: number; error_message: string | null };
}
interface UsageRows {
  data: Array<{ captchas: number; credits: number; requests: number }>;
}

const scrape = (api: string, key: string, urls: string[]): Promise<PollBody> =>
  scrapeAndWait(api, key, { urls: urls.map((url) => ({ url })) }, 90_000);

describe("CAPTCHA walls with no solver configured (the default)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("reports the URL as blocked by a CAPTCHA, counts no solve and charges nothing", async () => {
    expect(stack.config.captcha.solver).toBe("none");
    const { key, accountId } = await stack.createKey(100);
    const before = provider.requests.length;
    const final = await scrape(stack.api, key, [site.url("recaptcha")]);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/Blocked by a CAPTCHA: CAPTCHA wall/);
    const log = await call<LogDetail>(`${stack.api}/scrape-logs/${final.jobId}`, { key });
    expect(log.body.data).toMatchObject({ status: "error", captcha_solved_count: 0, credits_used: 0 });
    expect(await stack.balance(accountId)).toBe(100);
    expect(provider.requests.length).toBe(before);
    expect(site.submissions.length).toBe(0);
  });
});

describe("CAPTCHA walls with a createTask solver", () => {
  let stack: TestStack;
  let api: string;
  let cli: Spawned;
  // The gateway and worker run as their own process with debug logs, so their output can be searched for the key.
  useStarted(
    () =>
      startSpawnedStack({
        LOG_LEVEL: "debug",
        CAPTCHA_SOLVER: "createtask",
        CAPTCHA_SOLVER_URL: provider.url,
        CAPTCHA_SOLVER_KEY: SOLVER_KEY,
        CAPTCHA_SOLVER_POLL_MS: "250",
      }),
    (started) => ({ stack, api, process: cli } = started),
  );

  it("solves a reCAPTCHA wall: the content, one solve in the result, logs and usage, 10 credits charged", async () => {
    provider.reset();
    const { key, accountId } = await stack.createKey(100);
    const final = await scrape(api, key, [site.url("recaptcha")]);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result!.data[0]).toMatchObject({ success: true, title: "Lighthouse ledger" });
    expect(final.result!.content).toContain(CAPTCHA_ARTICLE_MARKER);
    expect(final.result!.stats.captchaSolvedCount).toBe(1);

    // The provider was asked about this page and this widget.
    expect(provider.tasks).toHaveLength(1);
    expect(provider.tasks[0]).toMatchObject({
      type: "RecaptchaV2TaskProxyless",
      websiteURL: site.url("recaptcha"),
      websiteKey: CAPTCHA_SITE_KEYS.recaptcha,
    });
    expect(provider.requests.every((r) => r.body?.clientKey === SOLVER_KEY)).toBe(true);
    // The site saw exactly the token the provider issued.
    const submission = site.submissions.at(-1);
    expect(submission).toMatchObject({ kind: "recaptcha", via: "form", accepted: true });
    expect(submission?.token).toBe(provider.tasks[0]?.token);

    const log = await call<LogDetail>(`${api}/scrape-logs/${final.jobId}`, { key });
    expect(log.body.data).toMatchObject({ status: "success", captcha_solved_count: 1, credits_used: 12 });
    const usage = await call<UsageRows>(`${api}/usage-stats?range=7d`, { key });
    expect(usage.body.data.at(-1)).toMatchObject({ requests: 1, captchas: 1, credits: 12 });
    expect(await stack.balance(accountId)).toBe(100 - 2 - 10);
    const ledger = await stack.pool.query<{ delta: string; note: string }>(
      "select delta, note from credit_ledger where job_id = $1 and reason = 'charge'",
      [final.jobId],
    );
    expect(ledger.rows.map((r) => [Number(r.delta), r.note])).toEqual([[-10, "model tokens and CAPTCHA solves"]]);
  });

  it("solves an hCaptcha iframe and a Turnstile callback wall in one job: two solves, 20 credits", async () => {
    provider.reset();
    const { key, accountId } = await stack.createKey(100);
    const final = await scrape(api, key, [site.url("hcaptcha", "iframe"), site.url("turnstile", "callback")]);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result!.data.map((d) => [d.success, d.markdownContent.includes(CAPTCHA_ARTICLE_MARKER)])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(final.result!.stats.captchaSolvedCount).toBe(2);
    expect(provider.tasks.map((t) => [t.type, t.websiteKey]).sort()).toEqual([
      ["HCaptchaTaskProxyless", CAPTCHA_SITE_KEYS.hcaptcha],
      ["TurnstileTaskProxyless", CAPTCHA_SITE_KEYS.turnstile],
    ]);
    expect(await stack.balance(accountId)).toBe(100 - 4 - 20);
  });

  it("a solver failure leaves the URL blocked by the CAPTCHA with the solver's reason, and nothing is charged for it", async () => {
    provider.reset();
    provider.setBehaviour("refuse");
    try {
      const { key, accountId } = await stack.createKey(100);
      const final = await scrape(api, key, [plain.url("/product/1"), site.url("recaptcha")]);
      expect(final.status).toBe("completed");
      const [ok, walled] = final.result!.data;
      expect(ok?.success).toBe(true);
      expect(walled?.success).toBe(false);
      expect(walled?.error).toMatch(/^Blocked by a CAPTCHA: CAPTCHA wall.*the solver failed: .*ERROR_ZERO_BALANCE/);
      expect(final.result!.stats.captchaSolvedCount).toBe(0);
      expect(await stack.balance(accountId)).toBe(100 - 2);

      // Alone, the walled URL fails the job with the same reason.
      provider.setBehaviour("unsolvable");
      const alone = await scrape(api, key, [site.url("recaptcha")]);
      expect(alone.status).toBe("failed");
      expect(alone.error).toMatch(/Blocked by a CAPTCHA: .*ERROR_CAPTCHA_UNSOLVABLE/);
      const log = await call<LogDetail>(`${api}/scrape-logs/${alone.jobId}`, { key });
      expect(log.body.data).toMatchObject({ status: "error", captcha_solved_count: 0, credits_used: 0 });
    } finally {
      provider.setBehaviour("solve");
    }
  });

  it("never writes the solver key to the logs or the database", async () => {
    provider.reset();
    const { key } = await stack.createKey(100);
    const final = await scrape(api, key, [site.url("recaptcha")]);
    expect(final.result?.stats.captchaSolvedCount).toBe(1);
    // The key went to the provider in every request, and the process logged at debug level meanwhile.
    expect(provider.requests.length).toBeGreaterThanOrEqual(2);
    expect(provider.requests.every((r) => r.body?.clientKey === SOLVER_KEY)).toBe(true);
    const logs = cli.output();
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).toContain("captcha solver answered");
    expect(logs).not.toContain(SOLVER_KEY);
    const dump = await stack.pool.query<{ all_rows: string }>(
      `select (select coalesce(string_agg(j::text, ''), '') from jobs j) ||
              (select coalesce(string_agg(l::text, ''), '') from credit_ledger l) as all_rows`,
    );
    expect(dump.rows[0]?.all_rows.length).toBeGreaterThan(100);
    expect(dump.rows[0]?.all_rows).not.toContain(SOLVER_KEY);
  });
});
