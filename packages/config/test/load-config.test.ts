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
