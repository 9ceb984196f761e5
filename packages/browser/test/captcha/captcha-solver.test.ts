import { startCaptchaProvider, type CaptchaProvider } from "@orbweaver/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCaptchaSolver } from "../../src/captcha/captcha-solver.ts";

// The provider client against a real HTTP server speaking the createTask/getTaskResult API.

const KEY = "ck-7f3a9e11-solver-key";
let provider: CaptchaProvider;

beforeAll(async () => {
  provider = await startCaptchaProvider({ clientKey: KEY });
});
afterAll(async () => {
  await provider?.close();
});
beforeEach(() => provider.reset());

const solverFor = (over: { apiKey?: string; timeoutMs?: number; baseUrl?: string } = {}) =>
  createCaptchaSolver({
    baseUrl: over.baseUrl ?? `${provider.url}/`,
    apiKey: over.apiKey ?? KEY,
    pollIntervalMs: 100,
    timeoutMs: over.timeoutMs ?? 20_000,
  });

describe("createCaptchaSolver", () => {
  it("creates a task of the widget's type, polls until ready and returns the issued token", async () => {
    const result = await solverFor().solve({
      kind: "recaptcha-v2",
      websiteURL: "https://shop.example/login",
      websiteKey: "6Lc-site-key",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(provider.issued(result.token)).toBe(true);
    expect(provider.requests.map((r) => r.path)).toEqual(["/createTask", "/getTaskResult", "/getTaskResult"]);
    expect(provider.requests[0]?.body).toEqual({
      clientKey: KEY,
      task: { type: "RecaptchaV2TaskProxyless", websiteURL: "https://shop.example/login", websiteKey: "6Lc-site-key" },
    });
    expect(provider.requests[1]?.body).toEqual({ clientKey: KEY, taskId: provider.tasks[0]?.taskId });
    expect(result.taskId).toBe(String(provider.tasks[0]?.taskId));
  });

  it("uses the hCaptcha and Turnstile task types, reads Turnstile's `token`, and flags invisible reCAPTCHA", async () => {
    const solver = solverFor();
    const h = await solver.solve({ kind: "hcaptcha", websiteURL: "https://a.example/", websiteKey: "h-key" });
    const t = await solver.solve({ kind: "turnstile", websiteURL: "https://b.example/", websiteKey: "0x4AAA" });
    const r = await solver.solve({
      kind: "recaptcha-v2",
      websiteURL: "https://c.example/",
      websiteKey: "r",
      invisible: true,
    });
    expect([h.ok, t.ok, r.ok]).toEqual([true, true, true]);
    expect(provider.tasks.map((x) => x.type)).toEqual([
      "HCaptchaTaskProxyless",
      "TurnstileTaskProxyless",
      "RecaptchaV2TaskProxyless",
    ]);
    expect(provider.tasks[2]?.task.isInvisible).toBe(true);
    expect(provider.tasks[0]?.task.isInvisible).toBeUndefined();
    if (t.ok) expect(provider.tasks[1]?.token).toBe(t.token);
  });

  it("reports the provider's error codes, a stuck task and an unreachable provider as reasons", async () => {
    provider.setBehaviour("refuse");
    const refused = await solverFor().solve({
      kind: "recaptcha-v2",
      websiteURL: "https://x.example/",
      websiteKey: "k",
    });
    expect(refused).toMatchObject({ ok: false });
    if (!refused.ok) expect(refused.reason).toContain("ERROR_ZERO_BALANCE");

    provider.setBehaviour("unsolvable");
    const unsolvable = await solverFor().solve({ kind: "hcaptcha", websiteURL: "https://x.example/", websiteKey: "k" });
    if (unsolvable.ok) expect.unreachable();
    else expect(unsolvable.reason).toContain("ERROR_CAPTCHA_UNSOLVABLE");

    provider.setBehaviour("never-ready");
    const stuck = await solverFor({ timeoutMs: 1500 }).solve({
      kind: "turnstile",
      websiteURL: "https://x.example/",
      websiteKey: "k",
    });
    if (stuck.ok) expect.unreachable();
    else expect(stuck.reason).toMatch(/no solution within \d+ ms/);

    const wrongKey = await solverFor({ apiKey: "not-the-key" }).solve({
      kind: "recaptcha-v2",
      websiteURL: "https://x.example/",
      websiteKey: "k",
    });
    if (wrongKey.ok) expect.unreachable();
    else expect(wrongKey.reason).toContain("ERROR_KEY_DOES_NOT_EXIST");

    const closed = await startCaptchaProvider();
    const deadUrl = closed.url;
    await closed.close();
    const unreachable = await solverFor({ baseUrl: deadUrl }).solve({
      kind: "recaptcha-v2",
      websiteURL: "https://x.example/",
      websiteKey: "k",
    });
    if (unreachable.ok) expect.unreachable();
    else expect(unreachable.reason).toContain("could not reach the solver");
  });

  it("never puts the key in a reason, even when the provider echoes it", async () => {
    const echoing: typeof fetch = async (_url, init) => {
      const sent = JSON.parse(String(init?.body)) as { clientKey: string };
      return new Response(
        JSON.stringify({
          errorId: 1,
          errorCode: "ERROR_KEY_DOES_NOT_EXIST",
          errorDescription: `bad key ${sent.clientKey}`,
        }),
        { status: 200, headers: { "content-type": "application/json" } },
      );
    };
    const solver = createCaptchaSolver({ baseUrl: "https://solver.invalid", apiKey: KEY, fetch: echoing });
    const result = await solver.solve({ kind: "recaptcha-v2", websiteURL: "https://x.example/", websiteKey: "k" });
    if (result.ok) expect.unreachable();
    else {
      expect(result.reason).toContain("ERROR_KEY_DOES_NOT_EXIST");
      expect(result.reason).toContain("[redacted]");
      expect(result.reason).not.toContain(KEY);
    }
  });

  it("stops at the caller's deadline before its own timeout", async () => {
    provider.setBehaviour("never-ready");
    const started = Date.now();
    const result = await solverFor({ timeoutMs: 60_000 }).solve(
      { kind: "recaptcha-v2", websiteURL: "https://x.example/", websiteKey: "k" },
      { deadline: started + 800 },
    );
    if (result.ok) expect.unreachable();
    // The wait was bounded by the deadline, not the 60 s timeout.
    const budget = Number(/no solution within (\d+) ms/.exec(result.reason)?.[1]);
    expect(budget).toBeGreaterThan(0);
    expect(budget).toBeLessThanOrEqual(800);
  });
});
