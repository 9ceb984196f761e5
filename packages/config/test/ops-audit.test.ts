import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/load-config.ts";
import { problems } from "./config-problems.ts";

describe("settings an operator can get wrong (ops audit)", () => {
  it("takes whole numbers in decimal only: hex, binary and exponents are refused, not read as another number", () => {
    for (const value of ["0x50", "1e3", "0b1", "0o17", "8080.0"]) {
      expect(problems({ PORT: value }), value).toEqual([expect.stringContaining("PORT: expected an integer")]);
    }
    expect(problems({ INVALID_KEY_STATUS: "0x191" })).toEqual([expect.stringContaining("INVALID_KEY_STATUS")]);
    expect(loadConfig({ PORT: " 8081 " }).port).toBe(8081);
    expect(loadConfig({ JOB_TIMEOUT_MS: "180000" }).jobs.jobTimeoutMs).toBe(180_000);
  });

  it("takes credit prices as decimal numbers, fractional or with an exponent, but not hex", () => {
    expect(loadConfig({ CREDITS_PER_URL: "0.5" }).limits.creditsPerUrl).toBe(0.5);
    expect(loadConfig({ CREDITS_PER_URL: "1e1" }).limits.creditsPerUrl).toBe(10);
    expect(problems({ CREDITS_PER_URL: "0x10" })).toEqual([expect.stringContaining("CREDITS_PER_URL")]);
  });

  it("refuses ALLOW_HOSTS entries that could never match (URLs, wildcards, bad ports)", () => {
    expect(loadConfig({ ALLOW_HOSTS: "intranet:8080, [::1]:80, ::1, 10.0.0.1, Wiki.Corp" }).network.allowHosts).toEqual(
      ["intranet:8080", "[::1]:80", "::1", "10.0.0.1", "wiki.corp"],
    );
    for (const value of ["http://intranet", "*.corp", "intranet:abc", "intranet/path", "user@intranet"]) {
      expect(problems({ ALLOW_HOSTS: value }), value).toEqual([expect.stringContaining("ALLOW_HOSTS")]);
    }
  });

  it("refuses BOOTSTRAP_CREDITS above what a balance holds", () => {
    expect(loadConfig({ BOOTSTRAP_CREDITS: "9999999999" }).bootstrap.credits).toBe(9_999_999_999);
    expect(problems({ BOOTSTRAP_CREDITS: "10000000000" })).toEqual([expect.stringContaining("BOOTSTRAP_CREDITS")]);
  });

  it("refuses an API_PREFIX that is not a URL path", () => {
    expect(problems({ API_PREFIX: "/a pi" })).toEqual([expect.stringContaining("API_PREFIX")]);
    expect(problems({ API_PREFIX: "/api?x" })).toEqual([expect.stringContaining("API_PREFIX")]);
    expect(loadConfig({ API_PREFIX: "v1/api/" }).apiPrefix).toBe("/v1/api");
    expect(loadConfig({ API_PREFIX: "/" }).apiPrefix).toBe("");
  });
});
