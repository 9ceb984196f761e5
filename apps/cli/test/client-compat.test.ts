// Client compatibility (contract §16): each real client's requests, sent the way that client sends
// them (headers, bodies, query strings), and each answer read the way that client reads it. The Go
// SDK decodes 2xx bodies into typed structs, so its answers are checked against those structs with
// Go's decoding rules (a string field takes a string or null, an int an integer, a slice an array
// or null); every other client is checked on the fields it reads.
import { startFixtureSite, startOpenAIServer, waitFor, type FixtureSite, type OpenAIServer } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readZip } from "./helpers/crawl.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;

beforeAll(async () => {
  site = await startFixtureSite();
  model = await startOpenAIServer();
  model.setDefault({ content: { title: "Extracted" }, usage: { prompt_tokens: 100, completion_tokens: 20 } });
  stack = await startTestStack({ env: { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: "test" } });
});
afterAll(async () => {
  await stack?.stop();
  await model?.close();
  await site?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- clients read loose JSON
}

/** One HTTP request exactly as given: no header is added that the client would not send. */
async function send(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const res = await fetch(url, { method, headers: opts.headers ?? {}, body: opts.body });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, headers: res.headers, text, body };
}

const TERMINAL = ["completed", "failed", "cancelled"];

/** Polls `read` until the answer's `status` is terminal (the SDK pollers' rule); returns every answer. */
async function pollUntilTerminal(read: () => Promise<Answer>, timeoutMs = 90_000): Promise<Answer[]> {
  const answers: Answer[] = [];
  await waitFor(
    async () => {
      const a = await read();
      answers.push(a);
      if (a.status !== 200) throw new Error(`poll answered ${a.status}: ${a.text}`);
      return TERMINAL.includes(String(a.body.status).toLowerCase()) ? true : undefined;
    },
    { timeoutMs, intervalMs: 150, message: "job to reach a terminal status" },
  );
  return answers;
}

// ——— Go's json.Unmarshal rules, for the structs of spidra-go v0.1.0 (types.go) ———

type GoType = "string" | "int" | "float64" | "any" | GoStruct | GoSlice | GoMap;
interface GoStruct {
  struct: Record<string, GoType>;
}
interface GoSlice {
  slice: GoType;
}
interface GoMap {
  map: GoType;
}

/**
 * Throws when Go could not decode `value` into `type` (json.Unmarshal returns an error, which the SDK
 * hands to its caller). null is accepted for every type, as Go leaves the zero value; keys match
 * case-insensitively, as Go matches them.
 */
function goDecode(value: unknown, type: GoType, path = "$"): void {
  if (value === null || value === undefined) return;
  const fail = (want: string) => {
    throw new Error(`Go cannot unmarshal ${JSON.stringify(value)?.slice(0, 80)} into ${want} at ${path}`);
  };
  if (type === "any") return;
  if (type === "string") return void (typeof value !== "string" && fail("string"));
  if (type === "float64") return void (typeof value !== "number" && fail("float64"));
  if (type === "int") return void ((typeof value !== "number" || !Number.isInteger(value)) && fail("int"));
  if ("slice" in type) {
    if (!Array.isArray(value)) return fail("slice");
    value.forEach((v, i) => goDecode(v, type.slice, `${path}[${i}]`));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) return fail("object");
  if ("map" in type) {
    for (const [k, v] of Object.entries(value)) goDecode(v, type.map, `${path}.${k}`);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [field, fieldType] of Object.entries(type.struct)) {
    // Go takes an exact match first, else the last case-insensitive one.
    const exact = entries.find(([k]) => k === field);
    const folded = entries.filter(([k]) => k.toLowerCase() === field.toLowerCase()).at(-1);
    const hit = exact ?? folded;
    if (hit) goDecode(hit[1], fieldType, `${path}.${field}`);
  }
}

const GO = {
  ScrapeJob: {
    struct: {
      jobId: "string",
      status: "string",
      result: { struct: { content: "any", screenshots: { slice: "string" } } },
      error: "string",
    },
  },
  BatchJob: {
    struct: {
      batchId: "string",
      status: "string",
      totalUrls: "int",
      completedCount: "int",
      failedCount: "int",
      items: { slice: { struct: { url: "string", status: "string", result: "any", error: "string" } } },
    },
  },
  BatchList: {
    struct: {
      jobs: {
        slice: {
          struct: { uuid: "string", status: "string", totalUrls: "int", completedCount: "int", failedCount: "int" },
        },
      },
    },
  },
  CrawlPage: {
    struct: {
      url: "string",
      status: "string",
      title: "string",
      data: "any",
      html_url: "string",
      markdown_url: "string",
      htmlKey: "string",
      markdownKey: "string",
    },
  },
} satisfies Record<string, GoType>;
const GO_CRAWL_JOB: GoType = {
  struct: { jobId: "string", status: "string", progress: "any", result: { slice: GO.CrawlPage }, error: "string" },
};
const GO_CRAWL_PAGES: GoType = { struct: { pages: { slice: GO.CrawlPage } } };
const GO_CRAWL_HISTORY: GoType = {
  struct: {
    jobs: { slice: { struct: { uuid: "string", base_url: "string", status: "string", pages_crawled: "int" } } },
  },
};
const GO_CRAWL_STATS: GoType = { struct: { total: "int" } };
const GO_CRAWL_EXTRACT: GoType = { struct: { jobId: "string" } };
const GO_LOGS: GoType = {
  struct: { status: "string", data: { struct: { logs: { slice: { map: "any" } }, total: "int" } } },
};
const GO_LOG: GoType = { struct: { status: "string", data: { map: "any" } } };
const GO_USAGE: GoType = {
  struct: { data: { slice: { struct: { date: "string", requests: "int", credits: "float64", tokens: "int" } } } },
};

/** spidra-go's http.go: x-api-key, Content-Type and Accept on every call, query from a map, JSON body only when given. */
function goClient(key: string) {
  const call = (method: string, path: string, opts: { query?: Record<string, string>; body?: unknown } = {}) => {
    const qs = opts.query && Object.keys(opts.query).length > 0 ? `?${new URLSearchParams(opts.query)}` : "";
    return send(method, `${stack.api}/${path.replace(/^\//, "")}${qs}`, {
      headers: { "x-api-key": key, "Content-Type": "application/json", Accept: "application/json" },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  };
  /** Decodes a 2xx into `type` (the SDK's json.Unmarshal); a non-2xx must carry `error` (mapError reads only it). */
  const decoded = async (answer: Promise<Answer>, type: GoType | null) => {
    const a = await answer;
    if (a.status >= 400) {
      expect(typeof a.body?.error, `Go reads "error" from ${a.status}: ${a.text}`).toBe("string");
      expect(a.body.error.length).toBeGreaterThan(0);
      return a;
    }
    if (type) goDecode(a.body, type);
    return a;
  };
  return { call, decoded };
}

/** JS SDK 0.4+ (and so the MCP server): Bearer, Content-Type only when a body is sent. */
function jsClient(key: string) {
  return (method: string, path: string, body?: unknown) =>
    send(method, `${stack.api}${path}`, {
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
}

/** n8n's httpRequest: x-api-key and Content-Type on every call, `json: true`, qs from an object. */
function n8nClient(key: string, base = `${stack.api}/`) {
  const root = base.replace(/\/$/, "");
  return (method: string, path: string, body?: Record<string, unknown>, qs?: Record<string, string | number>) => {
    const query = qs ? `?${new URLSearchParams(Object.entries(qs).map(([k, v]) => [k, String(v)]))}` : "";
    return send(method, `${root}${path}${query}`, {
      headers: { "x-api-key": key, "Content-Type": "application/json", Accept: "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("Go SDK v0.1.0", () => {
  it("decodes as Go does (the checker refuses what json.Unmarshal refuses)", () => {
    expect(() => goDecode({ totalUrls: 1.5 }, GO.BatchJob)).toThrow(/int at \$\.totalUrls/);
    expect(() => goDecode({ result: {} }, GO_CRAWL_JOB)).toThrow(/slice at \$\.result/);
    expect(() => goDecode({ pages: [{ html_url: 1 }] }, GO_CRAWL_PAGES)).toThrow(/string at/);
    expect(() => goDecode({ Error: 5 }, GO.ScrapeJob)).toThrow(/string at \$\.error/);
    expect(() => goDecode({ status: "x", result: null, error: null, progress: 3 }, GO_CRAWL_JOB)).not.toThrow();
  });

  it("runs a scrape and a batch through Submit/Get/Run/List/Retry/Cancel with every answer decodable", async () => {
    const { key } = await stack.createKey(100);
    const go = goClient(key);
    // Scrape.Submit omits zero values; actions travel as raw maps.
    const submitted = await go.decoded(
      go.call("POST", "/scrape", {
        body: { urls: [{ url: site.url("/product/1"), actions: [{ type: "wait", duration: 10 }] }] },
      }),
      GO.ScrapeJob,
    );
    expect(submitted.status).toBe(202);
    expect(submitted.body.jobId).toMatch(UUID);
    const polls = await pollUntilTerminal(() =>
      go.decoded(go.call("GET", `/scrape/${submitted.body.jobId}`), GO.ScrapeJob),
    );
    const done = polls.at(-1)!.body;
    expect(done.status).toBe("completed");
    expect(done.result.content).toEqual(expect.stringContaining("$39.99"));
    expect(done.result.screenshots).toEqual([]);

    const failing = await go.decoded(
      go.call("POST", "/scrape", { body: { urls: [{ url: site.url("/status/404") }] } }),
      GO.ScrapeJob,
    );
    const failed = (
      await pollUntilTerminal(() => go.decoded(go.call("GET", `/scrape/${failing.body.jobId}`), GO.ScrapeJob))
    ).at(-1)!.body;
    expect(failed.status).toBe("failed");
    expect(typeof failed.error).toBe("string");

    // Batch: one URL fails so that Retry has something to retry.
    const batch = await go.decoded(
      go.call("POST", "/batch/scrape", { body: { urls: [site.url("/news/1"), site.url("/status/503")] } }),
      GO.BatchJob,
    );
    expect(batch.status).toBe(202);
    expect(batch.body.batchId).toMatch(UUID);
    const get = () => go.decoded(go.call("GET", `/batch/scrape/${batch.body.batchId}`), GO.BatchJob);
    const first = (await pollUntilTerminal(get)).at(-1)!.body;
    expect(first).toMatchObject({ status: "completed", totalUrls: 2, completedCount: 1, failedCount: 1 });
    expect(typeof first.items[1].error).toBe("string");
    // Retry: POST with Content-Type and no body at all; the SDK ignores the answer but not an error.
    const retried = await go.decoded(go.call("POST", `/batch/scrape/${batch.body.batchId}/retry`), null);
    expect(retried.status).toBe(202);
    expect((await pollUntilTerminal(get)).at(-1)!.body.status).toBe("completed");
    // Cancel: DELETE with Content-Type and no body; a finished batch is a 409 whose `error` Go reports.
    const cancel = await go.decoded(go.call("DELETE", `/batch/scrape/${batch.body.batchId}`), null);
    expect(cancel.status).toBe(409);
    // List(0, 0): both parameters always sent.
    const list = await go.decoded(go.call("GET", "/batch/scrape", { query: { page: "0", limit: "0" } }), GO.BatchList);
    expect(list.status).toBe(200);
    expect(list.body.jobs.map((j: { uuid: string }) => j.uuid)).toContain(batch.body.batchId);
  });

  it("runs a crawl (transformInstruction always sent, maybe empty) and reads pages, history, stats, extract, logs and usage", async () => {
    const { key } = await stack.createKey(100);
    const go = goClient(key);
    const submitted = await go.decoded(
      go.call("POST", "/crawl", {
        body: { baseUrl: site.url("/site/docs/"), crawlInstruction: "", transformInstruction: "", maxPages: 2 },
      }),
      GO_CRAWL_JOB,
    );
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.jobId as string;
    const final = (await pollUntilTerminal(() => go.decoded(go.call("GET", `/crawl/${jobId}`), GO_CRAWL_JOB))).at(
      -1,
    )!.body;
    expect(final.status).toBe("completed");
    expect(final.result).toHaveLength(2);
    const pages = await go.decoded(go.call("GET", `/crawl/${jobId}/pages`), GO_CRAWL_PAGES);
    expect(pages.body.pages).toHaveLength(2);
    const history = await go.decoded(
      go.call("GET", "/crawl/history", { query: { page: "0", limit: "0" } }),
      GO_CRAWL_HISTORY,
    );
    expect(history.body.jobs[0]).toMatchObject({ uuid: jobId, pages_crawled: 2 });
    const stats = await go.decoded(go.call("GET", "/crawl/stats"), GO_CRAWL_STATS);
    expect(stats.body.total).toBe(1);
    const extract = await go.decoded(
      go.call("POST", `/crawl/${jobId}/extract`, { body: { transformInstruction: "The title" } }),
      GO_CRAWL_EXTRACT,
    );
    expect(extract.status).toBe(202);
    expect(extract.body.jobId).toMatch(UUID);
    const extracted = (
      await pollUntilTerminal(() => go.decoded(go.call("GET", `/crawl/${extract.body.jobId}`), GO_CRAWL_JOB))
    ).at(-1)!.body;
    expect(extracted.status).toBe("completed");

    const scrape = await go.call("POST", "/scrape", { body: { urls: [{ url: site.url("/news/2") }] } });
    await pollUntilTerminal(() => go.call("GET", `/scrape/${scrape.body.jobId}`));
    // Logs.List takes any map of filters; Logs.Get; Usage.Get(range).
    const logs = await go.decoded(
      go.call("GET", "/scrape-logs", { query: { status: "success", searchTerm: "news", page: "1", limit: "5" } }),
      GO_LOGS,
    );
    expect(logs.body.data.total).toBe(1);
    const log = await go.decoded(go.call("GET", `/scrape-logs/${scrape.body.jobId}`), GO_LOG);
    expect(log.body.data.result_data).toEqual(expect.any(String));
    for (const range of ["7d", "30d", "weekly"]) {
      const usage = await go.decoded(go.call("GET", "/usage-stats", { query: { range } }), GO_USAGE);
      expect(usage.status).toBe(200);
    }
  });

  it("reads `error` from every refusal: no key (an empty x-api-key), bad key, unknown id, bad input", async () => {
    const { key } = await stack.createKey(10);
    const anonymous = goClient("");
    expect((await anonymous.decoded(anonymous.call("GET", "/crawl/stats"), null)).status).toBe(401);
    const wrong = goClient("spd_not_a_key");
    expect((await wrong.decoded(wrong.call("GET", "/crawl/stats"), null)).status).toBe(403);
    const go = goClient(key);
    for (const path of ["/scrape/x", "/batch/scrape/x", "/crawl/x", "/crawl/x/pages", "/scrape-logs/x"]) {
      expect((await go.decoded(go.call("GET", path), null)).status, path).toBe(404);
    }
    expect((await go.decoded(go.call("POST", "/scrape", { body: { urls: [] } }), null)).status).toBe(400);
    expect((await go.decoded(go.call("GET", "/usage-stats", { query: { range: "" } }), null)).status).toBe(400);
  });
});

describe("JS SDK 0.4+ / 0.6 (Bearer)", () => {
  it("scrape: submit, poll to a result with every field typed, and typed errors (401, 403, 404, 422)", async () => {
    const { key } = await stack.createKey(100);
    const js = jsClient(key);
    const submitted = await js("POST", "/scrape", { urls: [{ url: site.url("/product/2") }], output: "markdown" });
    expect(submitted.status).toBe(202);
    const polls = await pollUntilTerminal(() => js("GET", `/scrape/${submitted.body.jobId}`));
    for (const p of polls) {
      expect(p.body).toHaveProperty("progress");
      if (p.body.progress) expect(p.body.progress.progress).toBeLessThanOrEqual(1);
    }
    const { result } = polls.at(-1)!.body;
    expect(polls.at(-1)!.body.status).toBe("completed");
    expect(result.data[0]).toEqual(
      expect.objectContaining({
        url: site.url("/product/2"),
        title: expect.any(String),
        success: true,
        screenshotUrl: null,
      }),
    );
    expect(typeof result.data[0].markdownContent).toBe("string");
    expect(result.screenshots).toEqual([]);
    expect(typeof result.ai_extraction_failed).toBe("boolean");
    for (const k of ["durationMs", "captchaSolvedCount", "inputTokens", "outputTokens", "totalTokens"])
      expect(Number.isInteger(result.stats[k]), k).toBe(true);
    // Rate-limit headers on an ordinary answer, as JS parses them (draft-6 names, reset in seconds).
    expect(Number(polls[0]!.headers.get("ratelimit-limit"))).toBeGreaterThan(0);
    expect(Number(polls[0]!.headers.get("ratelimit-reset"))).toBeGreaterThan(0);

    expect((await jsClient("")("GET", "/crawl/stats")).status).toBe(401);
    expect((await jsClient("spd_unknown")("GET", "/crawl/stats")).status).toBe(403);
    const missing = await js("GET", "/scrape/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect(typeof missing.body.message).toBe("string");
    // A Zod-converted schema is plain JSON Schema with $schema and additionalProperties; a broken one is 422 errors[].
    const zod = await js("POST", "/scrape", {
      urls: [{ url: site.url("/product/3") }],
      schema: {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { title: { type: "string" } },
        required: ["title"],
        additionalProperties: false,
      },
    });
    expect(zod.status, zod.text).toBe(202);
    const bad = await js("POST", "/scrape", {
      urls: [{ url: site.url("/") }],
      schema: { type: "object", properties: 5 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.length).toBeGreaterThan(0);
    await pollUntilTerminal(() => js("GET", `/scrape/${zod.body.jobId}`));
  });

  it("batch: the watcher's items (completed/failed, deduped by uuid), list without parameters, retry {} and cancel", async () => {
    const { key } = await stack.createKey(100);
    const js = jsClient(key);
    const submitted = await js("POST", "/batch/scrape", { urls: [site.url("/news/3"), site.url("/status/500")] });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ status: "queued", total: 2 });
    const seen = new Map<string, string>();
    const polls = await pollUntilTerminal(async () => {
      const a = await js("GET", `/batch/scrape/${submitted.body.batchId}`);
      for (const item of a.body.items ?? [])
        if ((item.status === "completed" || item.status === "failed") && !seen.has(item.uuid))
          seen.set(item.uuid, item.status);
      return a;
    });
    const done = polls.at(-1)!.body;
    expect([...seen.values()].sort()).toEqual(["completed", "failed"]);
    for (const item of done.items) {
      for (const k of [
        "uuid",
        "url",
        "jobId",
        "status",
        "result",
        "error",
        "creditsUsed",
        "startedAt",
        "finishedAt",
        "screenshotUrl",
      ])
        expect(item, k).toHaveProperty(k);
    }
    expect(typeof done.createdAt).toBe("string");
    const list = await js("GET", "/batch/scrape");
    expect(list.body.pagination).toMatchObject({ page: 1, limit: 20, total: 1, totalPages: 1 });
    const retry = await js("POST", `/batch/scrape/${submitted.body.batchId}/retry`, {});
    expect(retry.status).toBe(202);
    expect(retry.body.retriedCount).toBe(1);
    await pollUntilTerminal(() => js("GET", `/batch/scrape/${submitted.body.batchId}`));
    const cancel = await js("DELETE", `/batch/scrape/${submitted.body.batchId}`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe("ALREADY_TERMINAL");
  });

  it("crawl: job details, retry-page {}, ZIP download, cancel (DELETE without a body) then 409", async () => {
    const { key } = await stack.createKey(100);
    const js = jsClient(key);
    const submitted = await js("POST", "/crawl", {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      transformInstruction: "The page title",
    });
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.jobId as string;
    const final = (await pollUntilTerminal(() => js("GET", `/crawl/${jobId}`))).at(-1)!.body;
    expect(final.status).toBe("completed");
    for (const page of final.result)
      for (const k of ["url", "title", "data", "html", "markdown"]) expect(page).toHaveProperty(k);
    const details = await js("GET", `/crawl/job/${jobId}`);
    expect(details.body).toMatchObject({ id: jobId, status: "completed", pages_crawled: 2, max_pages: 2 });
    const pages = (await js("GET", `/crawl/${jobId}/pages`)).body.pages;
    const retried = await js("POST", `/crawl/${jobId}/retry/${pages[0].id}`, {});
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({ success: true, data: { title: "Extracted" }, message: expect.any(String) });
    expect(Number.isInteger(retried.body.tokensUsed)).toBe(true);
    expect(typeof retried.body.creditsUsed).toBe("number");
    const zip = await fetch(`${stack.api}/crawl/${jobId}/download?include=markdown,data`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(zip.status).toBe(200);
    expect(zip.headers.get("content-type")).toBe("application/zip");
    const files = readZip(Buffer.from(await zip.arrayBuffer()));
    expect([...files.keys()].some((f) => f.endsWith("/page.md"))).toBe(true);
    expect([...files.keys()].some((f) => f.endsWith("/page.html"))).toBe(false);

    const slow = await js("POST", "/crawl", { baseUrl: site.url("/site-slow/"), maxPages: 4 });
    const cancelled = await js("DELETE", `/crawl/${slow.body.jobId}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ status: "cancelled", jobId: slow.body.jobId });
    const again = await js("DELETE", `/crawl/${slow.body.jobId}`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("ALREADY_TERMINAL");
    // run() throws on cancelled: the poll must say so (terminal), with result null.
    expect((await js("GET", `/crawl/${slow.body.jobId}`)).body).toMatchObject({ status: "cancelled", result: null });
    const history = await js("GET", "/crawl/history");
    expect(history.body).toMatchObject({ total: 2, page: 1, totalPages: 1 });
    expect(history.body.jobs[0]).toMatchObject({ id: slow.body.jobId, uuid: slow.body.jobId });
    expect((await js("GET", "/crawl/stats")).body).toEqual({ total: 2 });
  });

  it("answers the pending-job limit with 429, code, retry_after and Retry-After, which the poller waits out", async () => {
    const { key, accountId } = await stack.createKey(100);
    const set = await runCli(["accounts", "set-limits", "--account", accountId, "--pending-scrapes", "1"], stack.env);
    expect(set.code, set.output).toBe(0);
    const js = jsClient(key);
    const first = await js("POST", "/scrape", { urls: [{ url: site.url("/slow?ms=2500") }] });
    expect(first.status).toBe(202);
    const refused = await js("POST", "/scrape", { urls: [{ url: site.url("/") }] });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: "error", code: "TOO_MANY_PENDING_JOBS", retry_after: 5 });
    expect(refused.body.error).toBe(refused.body.message);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(Number(refused.headers.get("ratelimit-limit"))).toBeGreaterThan(0);
    await pollUntilTerminal(() => js("GET", `/scrape/${first.body.jobId}`));
  });

  it("logs with every filter the SDK passes, and usage rows", async () => {
    const { key } = await stack.createKey(100);
    const js = jsClient(key);
    const job = await js("POST", "/scrape", { urls: [{ url: site.url("/status/404") }] });
    await pollUntilTerminal(() => js("GET", `/scrape/${job.body.jobId}`));
    const today = new Date().toISOString().slice(0, 10);
    const q = new URLSearchParams({
      status: "failed",
      searchTerm: "status",
      limit: "10",
      page: "1",
      channel: "api",
      dateStart: today,
      dateEnd: today,
    });
    const logs = await js("GET", `/scrape-logs?${q}`);
    expect(logs.status).toBe(200);
    expect(logs.body.data.total).toBe(1);
    expect(logs.body.data.logs[0]).toMatchObject({ uuid: job.body.jobId, status: "error" });
    const detail = await js("GET", `/scrape-logs/${job.body.jobId}`);
    expect(detail.body.data).toHaveProperty("result_data");
    const usage = await js("GET", "/usage-stats?range=30d");
    expect(usage.body.data).toHaveLength(30);
    expect(Object.keys(usage.body.data[0]).sort()).toEqual(
      expect.arrayContaining(["captchas", "crawls", "credits", "date", "label", "latency", "requests", "tokens"]),
    );
  });
});

describe("MCP server 0.1.1 (JS SDK 0.4 underneath)", () => {
  it("passes the smoke test's contract against the real server", async () => {
    const { key } = await stack.createKey(100);
    const js = jsClient(key);
    // spidra_scrape: prompt "" when omitted, the same actions for every URL.
    const scrape = await js("POST", "/scrape", {
      urls: [{ url: site.url("/news/1") }, { url: site.url("/news/2") }],
      prompt: "",
      output: "json",
    });
    expect(scrape.status).toBe(202);
    expect(scrape.body).toMatchObject({ status: "queued", jobId: expect.stringMatching(UUID) });
    const polls = await pollUntilTerminal(() => js("GET", `/scrape/${scrape.body.jobId}`), 240_000);
    const done = polls.at(-1)!.body;
    expect(done.status).toBe("completed");
    expect(done.result).toEqual(
      expect.objectContaining({ data: expect.any(Array), screenshots: expect.any(Array), stats: expect.any(Object) }),
    );
    expect(done.result).toHaveProperty("content");
    // spidra_batch_scrape (2–50 URLs, prompt "" by default) and spidra_crawl.
    const batch = await js("POST", "/batch/scrape", { urls: [site.url("/"), site.url("/news")], prompt: "" });
    expect(batch.status).toBe(202);
    expect(batch.body).toMatchObject({ status: "queued", batchId: expect.stringMatching(UUID), total: 2 });
    const crawl = await js("POST", "/crawl", {
      baseUrl: site.url("/site/about"),
      crawlInstruction: "Follow all pages",
      maxPages: 1,
    });
    expect(crawl.status).toBe(202);
    expect(crawl.body).toMatchObject({ status: "queued", jobId: expect.stringMatching(UUID) });
    const usage = await js("GET", "/usage-stats?range=7d");
    expect(usage.status).toBe(200);
    for (const k of ["label", "date", "requests", "credits", "tokens", "crawls", "captchas", "latency"])
      expect(usage.body.data[0]).toHaveProperty(k);
    // An unknown job id: a 404 in the envelope (the tool's text then contains "404").
    const unknown = await js("GET", "/scrape/does-not-exist");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: "error", message: expect.any(String) });
    // spidra_scrape_logs: status ∈ success/failed, limit ≤ 50.
    const logs = await js("GET", "/scrape-logs?status=failed&limit=50&page=1");
    expect(logs.body.data).toMatchObject({ total: 0, logs: [] });
    await pollUntilTerminal(() => js("GET", `/batch/scrape/${batch.body.batchId}`));
    await pollUntilTerminal(() => js("GET", `/crawl/${crawl.body.jobId}`));
  });
});

describe("n8n node 0.1.0", () => {
  it("passes the credential test and runs every operation with whole-object answers", async () => {
    const { key } = await stack.createKey(100);
    // The credential's base URL may end with "/": the node strips one.
    const n8n = n8nClient(key, `${stack.api}/`);
    const credential = await n8n("GET", "/usage-stats", undefined, { range: "7d" });
    expect(credential.status).toBe(200);
    const answers: Answer[] = [credential];
    const scrape = await n8n("POST", "/scrape", {
      urls: [{ url: site.url("/news/3"), actions: [] }],
      output: "markdown",
    });
    expect(scrape.status).toBe(202);
    answers.push(
      scrape,
      ...(await pollUntilTerminal(() => n8n("GET", `/scrape/${scrape.body.jobId ?? scrape.body.id}`))),
    );
    const batch = await n8n("POST", "/batch/scrape", {
      urls: [site.url("/"), site.url("/status/404")],
      output: "markdown",
    });
    expect(batch.status).toBe(202);
    answers.push(batch, ...(await pollUntilTerminal(() => n8n("GET", `/batch/scrape/${batch.body.batchId}`))));
    answers.push(await n8n("GET", "/batch/scrape"));
    const retry = await n8n("POST", `/batch/scrape/${batch.body.batchId}/retry`);
    expect(retry.status).toBe(202);
    answers.push(retry);
    const cancel = await n8n("DELETE", `/batch/scrape/${batch.body.batchId}`);
    expect([200, 409]).toContain(cancel.status);
    const crawl = await n8n("POST", "/crawl", {
      baseUrl: site.url("/site/docs/"),
      crawlInstruction: "Follow all links",
      transformInstruction: "",
      maxPages: 2,
    });
    expect(crawl.status).toBe(202);
    answers.push(crawl, ...(await pollUntilTerminal(() => n8n("GET", `/crawl/${crawl.body.jobId}`))));
    answers.push(await n8n("GET", `/crawl/${crawl.body.jobId}/pages`));
    const extract = await n8n("POST", `/crawl/${crawl.body.jobId}/extract`, { transformInstruction: "The title" });
    expect(extract.status).toBe(202);
    answers.push(extract, await n8n("GET", "/crawl/history"));
    for (const status of ["success", "error", "in_progress"]) {
      const logs = await n8n("GET", "/scrape-logs", undefined, { limit: 10, page: 1, status });
      expect(logs.status, status).toBe(200);
      answers.push(logs);
    }
    answers.push(await n8n("GET", `/scrape-logs/${scrape.body.jobId}`));
    for (const range of ["7d", "30d", "weekly"]) answers.push(await n8n("GET", "/usage-stats", undefined, { range }));
    // returnJsonArray would split a top-level array into several items: every answer is one object.
    for (const a of answers) {
      expect(a.status, a.text).toBeLessThan(300);
      expect(typeof a.body === "object" && a.body !== null && !Array.isArray(a.body), a.text).toBe(true);
    }
    await pollUntilTerminal(() => n8n("GET", `/crawl/${extract.body.jobId}`));
  });
});

describe("raw clients: tutorial, eventbrite-scraper, MCP demo", () => {
  it("tutorial: /account/usage, scrape result fields, batch and crawl pages", async () => {
    const { key } = await stack.createKey(100);
    const headers = { "x-api-key": key, "Content-Type": "application/json" };
    const post = (path: string, body: unknown) =>
      send("POST", `${stack.api}${path}`, { headers, body: JSON.stringify(body) });
    const get = (path: string) => send("GET", `${stack.api}${path}`, { headers: { "x-api-key": key } });
    const usage = await get("/account/usage");
    expect(usage.status).toBe(200);
    expect(usage.body.data).toHaveLength(30);
    const job = await post("/scrape", {
      urls: [{ url: site.url("/product/4") }],
      prompt: "Name and price",
      output: "json",
    });
    const done = (await pollUntilTerminal(() => get(`/scrape/${job.body.jobId}`))).at(-1)!.body;
    expect(done.status).toBe("completed");
    expect(done.result.content).toEqual({ title: "Extracted" });
    expect(typeof done.result.data[0].markdownContent).toBe("string");
    expect(done.result.ai_extraction_failed).toBe(false);
    const logs = await get("/scrape-logs");
    const log = logs.body.data.logs[0];
    for (const k of ["started_at", "status", "latency_ms", "tokens_used", "uuid"]) expect(log).toHaveProperty(k);
    expect(log.tokens_used).toBe(120);
  });

  it("eventbrite-scraper: prompt + output json + aiMode, read result.content; the demo: select, per-URL cookies, statuses", async () => {
    const { key } = await stack.createKey(100);
    const headers = { "Content-Type": "application/json", "x-api-key": key };
    const evb = await send("POST", `${stack.api}/scrape`, {
      headers,
      body: JSON.stringify({
        urls: [{ url: site.url("/news/1") }],
        prompt: "Extract: event_name",
        output: "json",
        aiMode: true,
      }),
    });
    expect(evb.status).toBe(202);
    const evbDone = (
      await pollUntilTerminal(() =>
        send("GET", `${stack.api}/scrape/${evb.body.jobId}`, { headers: { "x-api-key": key } }),
      )
    ).at(-1)!;
    expect(evbDone.body.result.content).toEqual({ title: "Extracted" });

    // The demo sends Content-Type on GETs too, and reads message on submit.
    const demo = await send("POST", `${stack.api}/scrape`, {
      headers,
      body: JSON.stringify({
        urls: [
          {
            url: site.url("/form"),
            actions: [
              { type: "select", selector: "#category", value: "bottles" },
              { type: "type", selector: "#q", value: "pack" },
              { type: "wait", duration: 50 },
            ],
            cookies: [{ name: "session", value: "abc", domain: "127.0.0.1" }],
          },
        ],
        output: "markdown",
      }),
    });
    expect(demo.status, demo.text).toBe(202);
    expect(demo.body.message).toEqual(expect.any(String));
    const polls = await pollUntilTerminal(() => send("GET", `${stack.api}/scrape/${demo.body.jobId}`, { headers }));
    for (const p of polls) expect(["waiting", "active", "completed", "failed", "delayed"]).toContain(p.body.status);
    const final = polls.at(-1)!.body;
    expect(final.status, JSON.stringify(final)).toBe("completed");
    expect(Math.round(final.progress.progress * 100)).toBe(100);
    expect(Number.isInteger(final.result.stats.durationMs)).toBe(true);
  });

  it("takes a JSON body whose Content-Type names a charset", async () => {
    const { key } = await stack.createKey(10);
    const res = await send("POST", `${stack.api}/scrape`, {
      headers: { "x-api-key": key, "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify({ urls: [{ url: site.url("/") }] }),
    });
    expect(res.status, res.text).toBe(202);
    await pollUntilTerminal(() =>
      send("GET", `${stack.api}/scrape/${res.body.jobId}`, { headers: { "x-api-key": key } }),
    );
  });
});
