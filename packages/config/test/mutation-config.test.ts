import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/index.ts";
import { problems } from "./config-problems.ts";

/** Settings gaps found by mutation testing: each test fails with one plausible parsing bug. */
describe("settings (mutation audit)", () => {
  it("reads yes/on/1 as true and no/off/0 as false, in any case, and refuses anything else", () => {
    for (const value of ["true", "1", "yes", "on", "YES", " On "]) {
      expect(loadConfig({ CRAWL_RESPECT_ROBOTS: "false", TRUST_PROXY: value }).trustProxy, value).toBe(true);
    }
    for (const value of ["false", "0", "no", "off", "NO"]) {
      expect(loadConfig({ CRAWL_RESPECT_ROBOTS: value }).crawl.respectRobots, value).toBe(false);
    }
    expect(problems({ TRUST_PROXY: "maybe" })).toEqual([
      expect.stringContaining("TRUST_PROXY: expected true or false"),
    ]);
  });

  it("does not trust X-Forwarded-For unless told to: TRUST_PROXY is off by default", () => {
    // Trusting it by default would let any client pick its own address for the per-IP limits.
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it("refuses negative credit prices (a negative price would pay the caller for each page)", () => {
    for (const name of ["CREDITS_PER_URL", "CREDITS_PER_CRAWL_PAGE", "CREDITS_PER_1K_TOKENS", "CREDITS_PER_CAPTCHA"]) {
      expect(problems({ [name]: "-1" }), name).toEqual([expect.stringContaining(`${name}: expected a number >= 0`)]);
      expect(problems({ [name]: "0" }), name).toEqual([]);
    }
  });

  it("keeps integer settings inside their documented bounds", () => {
    expect(problems({ WORKER_CONCURRENCY: "64" })).toEqual([]);
    expect(problems({ WORKER_CONCURRENCY: "65" })).toEqual([expect.stringContaining("WORKER_CONCURRENCY")]);
    expect(loadConfig({ BODY_LIMIT_BYTES: "1024" }).limits.bodyLimitBytes).toBe(1024);
    expect(problems({ BODY_LIMIT_BYTES: "1023" })).toEqual([expect.stringContaining("BODY_LIMIT_BYTES")]);
    expect(problems({ RATE_LIMIT_WINDOW_MS: "999" })).toEqual([expect.stringContaining("RATE_LIMIT_WINDOW_MS")]);
    expect(loadConfig({ RATE_LIMIT_WINDOW_MS: "1000" }).limits.rateLimitWindowMs).toBe(1000);
  });
});
