import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

describe("loadConfig", () => {
  it("applies documented defaults on an empty environment", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.chromiumPath).toBe("/usr/bin/chromium");
    expect(c.network.allowPrivateNetwork).toBe(false);
    expect(c.limits.maxUrlsPerScrape).toBe(3);
    expect(c.limits.creditsPerUrl).toBe(2);
    expect(c.limits.rateLimitMax).toBe(300);
    expect(c.apiPrefix).toBe("/api");
    expect(c.publicUrl).toBe("http://localhost:8080");
  });

  it("parses values and normalises the prefix and host list", () => {
    const c = loadConfig({
      PORT: "9000",
      ALLOW_PRIVATE_NETWORK: "true",
      ALLOW_HOSTS: "Intranet.local, 10.0.0.5:8080",
      API_PREFIX: "v1/",
      PUBLIC_URL: "https://scrape.example.com/",
      CREDITS_PER_URL: "1.5",
    });
    expect(c.port).toBe(9000);
    expect(c.network).toEqual({ allowPrivateNetwork: true, allowHosts: ["intranet.local", "10.0.0.5:8080"] });
    expect(c.apiPrefix).toBe("/v1");
    expect(c.publicUrl).toBe("https://scrape.example.com");
    expect(c.limits.creditsPerUrl).toBe(1.5);
  });

  it("has defaults for the extraction, batch, crawl and proxy settings and validates them", () => {
    const c = loadConfig({});
    expect(c.llm).toMatchObject({ inputBudgetTokens: 24_000, maxChunks: 8, structuredOutput: "auto" });
    expect(c.limits).toMatchObject({ maxUrlsPerBatch: 50, batchConcurrency: 2, creditsPer1kTokens: 1 });
    expect(c.crawl).toMatchObject({ maxPages: 50, maxPendingCrawls: 5, respectRobots: true });
    expect(c.proxyPool).toBe("");
    expect(c.secret).toBeUndefined();
    expect(() => loadConfig({ LLM_STRUCTURED_OUTPUT: "xml" })).toThrow(/LLM_STRUCTURED_OUTPUT/);
    expect(() => loadConfig({ MAX_URLS_PER_BATCH: "0" })).toThrow(/MAX_URLS_PER_BATCH/);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "", OPENAI_API_KEY: "" }).llm.apiKey).toBeUndefined();
  });

  it("names every bad variable", () => {
    try {
      loadConfig({ PORT: "eighty", ALLOW_PRIVATE_NETWORK: "maybe", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ["PORT", "ALLOW_PRIVATE_NETWORK", "DATABASE_URL", "LOG_LEVEL"]) expect(msg).toContain(name);
    }
  });
});
