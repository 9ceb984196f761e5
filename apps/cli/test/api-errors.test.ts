import { startCanary, startFixtureSite, type Canary, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let site: FixtureSite;
let canary: Canary;
let key: string;

type Envelope = { status: string; message: string; error: string; code?: string; errors?: string[] };

function expectEnvelope(body: Envelope) {
  expect(body.status).toBe("error");
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.error).toBe(body.message);
}

beforeAll(async () => {
  site = await startFixtureSite();
  canary = await startCanary();
  // No worker: these tests only look at what the gateway accepts or refuses. Private addresses are
  // refused except the fixture site, as an intranet exception.
  stack = await startTestStack({
    worker: false,
    env: { ALLOW_PRIVATE_NETWORK: "false", ALLOW_HOSTS: `127.0.0.1:${site.port}`, BODY_LIMIT_BYTES: "4096" },
  });
  key = (await stack.createKey(100)).key;
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
  await canary?.close();
});

const scrape = (body: unknown, k = key) => call<Envelope>(`${stack.api}/scrape`, { key: k, body });
const ok = () => ({ urls: [{ url: site.url("/") }] });

describe("authentication", () => {
  it("answers 401 without a key and 403 for an unknown key, in the envelope", async () => {
    const none = await call<Envelope>(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`);
    expect(none.status).toBe(401);
    expectEnvelope(none.body);
    const bad = await call<Envelope>(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key: "spd_nope" });
    expect(bad.status).toBe(403);
    expect(bad.body.message).toBe("Invalid token or API key");
  });

  it("accepts Bearer, prefers x-api-key when both are sent, and refuses a revoked key", async () => {
    const other = await stack.createKey(10);
    expect((await call(`${stack.api}/scrape`, { bearer: other.key, body: ok() })).status).toBe(202);
    const both = await call(`${stack.api}/scrape`, { key: "spd_wrong", bearer: other.key, body: ok() });
    expect(both.status).toBe(403);
    // The key was just used, so the gateway holds it in its key cache: the revocation must reach it.
    const revoked = await runCli(["keys", "revoke", "--key", other.key], stack.env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await call(`${stack.api}/scrape`, { bearer: other.key, body: ok() })).status).toBe(403);
  });

  it("keeps health and readiness outside the API and without auth", async () => {
    expect((await call(`${stack.origin}/health`)).body).toEqual({ status: "ok" });
    const ready = await call(`${stack.origin}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ postgres: "ok", redis: "ok" });
    const docs = await fetch(`${stack.origin}/docs/json`);
    expect(docs.status).toBe(200);
    expect(JSON.stringify(await docs.json())).toContain("/api/scrape");
  });
});

describe("bad input", () => {
  const cases: Array<[string, unknown, number, RegExp]> = [
    ["no urls", {}, 400, /urls/],
    ["empty urls", { urls: [] }, 400, /urls/],
    ["a string instead of a URL object", { urls: ["http://example.com"] }, 400, /urls/],
    ["four URLs", { urls: [1, 2, 3, 4].map(() => ({ url: "http://127.0.0.1/" })) }, 400, /at most 3/],
    ["a non-http scheme", { urls: [{ url: "file:///etc/passwd" }] }, 400, /url/],
    ["a URL that is not one", { urls: [{ url: "not a url" }] }, 400, /url/],
    ["an unknown output", { urls: [{ url: "http://x.test" }], output: "pdf" }, 400, /output/],
    [
      "an unknown action",
      { urls: [{ url: "http://x.test", actions: [{ type: "dance" }] }] },
      400,
      /actions\[0\].*unknown action/,
    ],
    [
      "a click without a target",
      { urls: [{ url: "http://x.test", actions: [{ type: "click" }] }] },
      400,
      /actions\[0\]/,
    ],
    [
      "a negative wait",
      { urls: [{ url: "http://x.test", actions: [{ type: "wait", duration: -5 }] }] },
      400,
      /duration/,
    ],
    ["a bad scroll", { urls: [{ url: "http://x.test", actions: [{ type: "scroll", to: "lots" }] }] }, 400, /scroll/],
    [
      "forEach with no items to take",
      { urls: [{ url: "http://x.test", actions: [{ type: "forEach", observe: "rows", maxItems: 0 }] }] },
      400,
      /maxItems/,
    ],
    ["a wrong type for a flag", { urls: [{ url: "http://x.test" }], screenshot: "often" }, 400, /screenshot/],
  ];
  it.each(cases)("refuses %s", async (_name, body, status, pattern) => {
    const res = await scrape(body);
    expect(res.status).toBe(status);
    expectEnvelope(res.body);
    expect(`${res.body.message} ${(res.body.errors ?? []).join(" ")}`).toMatch(pattern);
    expect(res.body.errors?.length).toBeGreaterThan(0);
  });

  it("refuses malformed JSON, an empty body and an oversized body without a 5xx", async () => {
    const malformed = await call<Envelope>(`${stack.api}/scrape`, { key, rawBody: "{nope" });
    expect(malformed.status).toBe(400);
    expectEnvelope(malformed.body);
    expect(malformed.body.errors).toEqual([malformed.body.message]);
    const empty = await call<Envelope>(`${stack.api}/scrape`, { key, rawBody: "" });
    expect(empty.status).toBe(400);
    expectEnvelope(empty.body);
    const huge = await scrape({ urls: [{ url: site.url("/") }], prompt: "x".repeat(10_000) });
    expect(huge.status).toBe(413);
    expectEnvelope(huge.body);
  });

  it("lists the problem in errors[] on every 400, also those found past the schema", async () => {
    const answers = [
      await call<Envelope>(`${stack.api}/scrape-logs?dateStart=2026-02-01&dateEnd=2026-01-01`, { key }),
      await call<Envelope>(`${stack.api}/scrape`, { key, body: { ...ok(), useProxy: true } }),
      await call<Envelope>(`${stack.api}/scrape`, { key, body: { ...ok(), cookies: "HttpOnly" } }),
    ];
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expectEnvelope(res.body);
      expect(res.body.errors, JSON.stringify(res.body)).toEqual([res.body.message]);
    }
  });

  it("names what a field accepts when it takes one of a few values or types, once per field", async () => {
    const output = await scrape({ ...ok(), output: "pdf", scrapeMode: "slow" });
    expect(output.status).toBe(400);
    expectEnvelope(output.body);
    expect(output.body.message).toBe("Invalid request: body.output must be one of: json, markdown, text, table");
    expect(output.body.errors).toEqual([
      "body.output must be one of: json, markdown, text, table",
      "body.scrapeMode must be one of: default, fast",
    ]);
    // A batch URL is a string or an object: an array is neither.
    const batch = await call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/"), []] } });
    expect(batch.status).toBe(400);
    expect(batch.body.errors).toEqual(["body.urls.1 must be a string or an object"]);
    // An object alternative that fails inside keeps Ajv's own messages, which say where.
    const nested = await call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [{ url: [] }] } });
    expect(nested.status).toBe(400);
    expect(nested.body.errors).toContain("body.urls.0.url must be string");
  });

  it("answers unknown routes and unknown, malformed or foreign job ids with 404", async () => {
    const route = await call<Envelope>(`${stack.api}/nowhere`, { key });
    expect(route.status).toBe(404);
    expectEnvelope(route.body);
    // Web search (JS SDK 0.6) is not provided (README): its routes are unknown routes, in the envelope.
    const search = await call<Envelope>(`${stack.api}/search`, { key, body: { query: "shoes", wait: true } });
    expect(search.status).toBe(404);
    expectEnvelope(search.body);
    expect((await call<Envelope>(`${stack.api}/search/00000000-0000-0000-0000-000000000000`, { key })).status).toBe(
      404,
    );
    for (const id of ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1"]) {
      const res = await call<Envelope>(`${stack.api}/scrape/${id}`, { key });
      expect(res.status).toBe(404);
      expectEnvelope(res.body);
    }
    const mine = await scrape(ok());
    const stranger = await stack.createKey(10);
    const theirs = await call<Envelope>(`${stack.api}/scrape/${(mine.body as unknown as { jobId: string }).jobId}`, {
      key: stranger.key,
    });
    expect(theirs.status).toBe(404);
  });

  it("answers errors Fastify's router finds itself (bad percent-encoding, overlong segment) in the envelope, 4xx", async () => {
    for (const path of [
      "/batch/scrape/abc%zz",
      "/crawl/abc%zz",
      "/crawl/abc%zz/pages",
      "/scrape/abc%zz",
      "/crawl/job/%E0%A4%A",
    ]) {
      for (const k of [key, undefined]) {
        const res = await call<Envelope>(`${stack.api}${path}`, k ? { key: k } : {});
        expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(400);
        expectEnvelope(res.body);
        expect(res.body.code).toBeUndefined();
        expect(res.body.message).toMatch(/percent-encoding/);
        expect(res.body.errors).toEqual([res.body.message]);
      }
    }
    const long = await call<Envelope>(`${stack.api}/crawl/${"a".repeat(300)}`, { key });
    expect(long.status, JSON.stringify(long.body)).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    expectEnvelope(long.body);
    expect(long.body.code).toBeUndefined();
    // A body that is not JSON is refused past the router, by the error handler: in the envelope too.
    const media = await call<Envelope>(`${stack.api}/scrape`, {
      key,
      rawBody: "urls=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(media.status).toBe(415);
    expectEnvelope(media.body);
  });

  it("tolerates a double slash and a trailing slash in paths", async () => {
    expect((await call(`${stack.origin}/api//scrape`, { key, body: ok() })).status).toBe(202);
  });
});

describe("NUL characters and oversized requests", () => {
  it("refuses a NUL character in a body field, a body key, a query value or a path with 400 naming where", async () => {
    const nul = "a\u0000b";
    const cases: Array<[string, Promise<{ status: number; body: Envelope }>, string]> = [
      ["a scrape prompt", scrape({ ...ok(), prompt: nul }), "body.prompt"],
      [
        "an action's value",
        scrape({ urls: [{ url: site.url("/"), actions: [{ type: "click", value: nul }] }] }),
        "body.urls[0].actions[0].value",
      ],
      [
        "a schema's property name",
        scrape({ ...ok(), schema: { type: "object", properties: { [nul]: { type: "string" } } } }),
        "body.schema.properties (a key)",
      ],
      [
        "a batch prompt",
        call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/")], prompt: nul } }),
        "body.prompt",
      ],
      [
        "a crawl instruction",
        call<Envelope>(`${stack.api}/crawl`, {
          key,
          body: { baseUrl: site.url("/"), crawlInstruction: "all", transformInstruction: nul },
        }),
        "body.transformInstruction",
      ],
      ["a log search", call<Envelope>(`${stack.api}/scrape-logs?searchTerm=a%00b`, { key }), "query.searchTerm"],
      ["a job id", call<Envelope>(`${stack.api}/scrape/a%00b`, { key }), "params.jobId"],
    ];
    for (const [name, answer, where] of cases) {
      const res = await answer;
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(400);
      expectEnvelope(res.body);
      expect(res.body.message).toBe(`${where} must not contain the NUL character (\\u0000)`);
      expect(res.body.errors).toEqual([res.body.message]);
    }
    // The text "\u0000" (an escaped backslash in JSON) is no NUL character: accepted.
    expect((await scrape({ ...ok(), prompt: "the escape \\u0000 in C" })).status).toBe(202);
  });

  it("refuses an unpaired surrogate (JSON's \\ud800 alone) with 400 naming where, and takes a pair", async () => {
    const lone = "a\ud800b";
    const cases: Array<[Promise<{ status: number; body: Envelope }>, string]> = [
      [scrape({ ...ok(), prompt: lone }), "body.prompt"],
      [
        scrape({ ...ok(), schema: { type: "object", properties: { ["x\udc00"]: { type: "string" } } } }),
        "body.schema.properties (a key)",
      ],
      [
        call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/")], prompt: lone } }),
        "body.prompt",
      ],
    ];
    for (const [answer, where] of cases) {
      const res = await answer;
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expectEnvelope(res.body);
      expect(res.body.message).toBe(
        `${where} must be well-formed Unicode (it holds an unpaired surrogate such as \\ud800)`,
      );
    }
    // A pair is one character (here an emoji), however it is written in the JSON.
    expect((await scrape({ ...ok(), prompt: "smile \ud83d\ude00" })).status).toBe(202);
    expect(
      (
        await call(`${stack.api}/scrape`, {
          key,
          rawBody: `{"urls":[{"url":"${site.url("/")}"}],"prompt":"\\ud83d\\ude00"}`,
        })
      ).status,
    ).toBe(202);
  });

  it("one tenant's NUL characters do not fail another tenant's submits sent at the same time", async () => {
    const others = await Promise.all(Array.from({ length: 8 }, () => stack.createKey(100)));
    const sender = await stack.createKey(100);
    for (let round = 0; round < 3; round++) {
      const [valid, refused] = await Promise.all([
        Promise.all(others.map((o) => scrape(ok(), o.key))),
        Promise.all(Array.from({ length: 6 }, () => scrape({ ...ok(), prompt: "a\u0000b" }, sender.key))),
      ]);
      expect(valid.map((r) => r.status)).toEqual(others.map(() => 202));
      expect(refused.map((r) => r.status)).toEqual(refused.map(() => 400));
    }
  });

  it("answers a request whose headers or query string are too large with 431 in the envelope", async () => {
    const res = await call<Envelope>(`${stack.api}/scrape-logs?searchTerm=${"x".repeat(20_000)}`, { key });
    expect(res.status).toBe(431);
    expectEnvelope(res.body);
  });
});

describe("a retried batch, with no worker to run it", () => {
  it("is running, not pending, from the retry until its retried items are done", async () => {
    const { key: own } = await stack.createKey(100);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key: own,
      body: { urls: [site.url("/a"), site.url("/b")] },
    });
    expect(submit.status).toBe(202);
    const { batchId } = submit.body;
    type Batch = { status: string; failedCount: number; items: Array<{ status: string }> };
    const read = async () => (await call<Batch>(`${stack.api}/batch/scrape/${batchId}`, { key: own })).body;
    const listed = async () =>
      (
        await call<{ jobs: Array<{ uuid: string; status: string }> }>(`${stack.api}/batch/scrape`, { key: own })
      ).body.jobs.find((b) => b.uuid === batchId)?.status;
    expect((await read()).status).toBe("pending");
    // Both items fail, as a worker would fail them.
    await stack.pool.query(
      `update jobs set status = 'failed', error = 'HTTP 503', attempts = 1, started_at = now(), finished_at = now(), updated_at = now()
        where batch_id = $1`,
      [batchId],
    );
    expect(await read()).toMatchObject({ status: "completed", failedCount: 2 });
    const retry = await call(`${stack.api}/batch/scrape/${batchId}/retry`, { key: own, body: {} });
    expect(retry.status).toBe(202);
    const after = await read();
    expect(after).toMatchObject({ status: "running", failedCount: 0 });
    expect(after.items.map((i) => i.status)).toEqual(["pending", "pending"]);
    expect(await listed()).toBe("running");
    await call(`${stack.api}/batch/scrape/${batchId}`, { key: own, method: "DELETE" });
  });
});

describe("SSRF guard before queueing", () => {
  const refused = [
    "http://127.0.0.1:9/",
    "http://localhost/",
    "http://[::1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://10.1.2.3/",
    "http://192.168.0.10/",
    "http://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
  ];
  it.each(refused)("refuses %s with 400", async (url) => {
    const res = await scrape({ urls: [{ url }] });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toContain("urls[0].url");
  });

  it("refuses a canary on loopback and allows only the listed intranet exception", async () => {
    expect((await scrape({ urls: [{ url: canary.url("/") }] })).status).toBe(400);
    expect((await scrape(ok())).status).toBe(202);
    expect(canary.hits()).toBe(0);
  });
});
