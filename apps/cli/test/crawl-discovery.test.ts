import {
  messageText,
  type ChatRequestView,
  type FixtureSite,
  type OpenAIServer,
  type ScriptedReply,
} from "@orbweaver/testkit";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { crawl, pathsOf, pollCrawl, startCrawl } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let key: string;
let accountId: string;
const OPENING = 1000;

/** Which link URLs the scripted model follows; `null` makes link choice fail (HTTP 500). */
let followRule: ((url: string) => boolean) | null = () => true;

function scripted(req: ChatRequestView): ScriptedReply {
  if (req.response_format?.json_schema?.name === "links") {
    if (!followRule) return { status: 500 };
    const user = messageText(req.messages.find((m) => m.role === "user") ?? { role: "user", content: "" });
    const rule = followRule;
    const follow = [...user.matchAll(/^\[(\d+)\] "([^"]*)"/gm)].filter((m) => rule(m[2]!)).map((m) => Number(m[1]));
    return { content: { follow }, usage: { prompt_tokens: 300, completion_tokens: 20 } };
  }
  return { content: { title: "From the model" }, usage: { prompt_tokens: 500, completion_tokens: 30 } };
}

useStarted(
  () => startModelStack({ LLM_MODEL: "test-model" }),
  (started) => ({ site, model, stack } = started),
);
beforeAll(async () => {
  ({ key, accountId } = await stack.createKey(OPENING));
});
beforeEach(() => {
  model.reset();
  model.setDefault(scripted);
  followRule = () => true;
});

async function balanceOf(id: string): Promise<number> {
  const { rows } = await stack.pool.query("select credits_balance::float as balance from accounts where id = $1", [id]);
  return Number(rows[0]?.balance);
}

const run = (body: Record<string, unknown>) => crawl(stack.api, key, { baseUrl: site.url("/site/"), ...body });
/** Requests the fixture received for these paths while `fn` ran. */
async function hitsDuring(paths: string[], fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = paths.map((p) => site.hits(p));
  await fn();
  return Object.fromEntries(paths.map((p, i) => [p, site.hits(p) - before[i]!]));
}

describe("scope and normalisation", () => {
  it("follows each in-scope page once: fragments, trailing slashes and other schemes folded; robots, off-site, other hosts and files skipped", async () => {
    let result: string[] = [];
    const hits = await hitsDuring(
      [
        "/site/about",
        "/site/about/",
        "/site/members/area",
        "/site/alt",
        "/site/files/brochure.pdf",
        "/news",
        "/site/contact",
      ],
      async () => {
        const done = await run({ maxPages: 50, excludePaths: ["/site/docs", "/site/blog"] });
        result = pathsOf(done.result!);
      },
    );
    expect(result).toEqual([
      "/site/",
      "/site/about",
      "/site/products",
      "/site/products?sort=asc",
      "/site/products?sort=desc",
      "/site/changelog",
      "/site/login",
      "/site/contact",
      "/site/orphan",
      "/site/team",
      "/site/products/widget",
      "/site/products/gadget",
    ]);
    expect(hits).toEqual({
      "/site/about": 1,
      "/site/about/": 0,
      "/site/members/area": 0,
      "/site/alt": 0,
      "/site/files/brochure.pdf": 0,
      "/news": 0,
      "/site/contact": 1,
    });
    expect(model.chatRequests()).toHaveLength(0);
  });

  it("folds query-string variants into one page with ignoreQueryParams", async () => {
    const done = await run({ maxPages: 50, ignoreQueryParams: true, includePaths: ["/site/products*"] });
    expect(pathsOf(done.result!)).toEqual([
      "/site/",
      "/site/products",
      "/site/products/widget",
      "/site/products/gadget",
    ]);
  });

  it("applies includePaths globs before maxPages, and records pages that fail", async () => {
    const done = await run({ maxPages: 10, includePaths: ["/site/docs/*"] });
    expect(pathsOf(done.result!)).toEqual([
      "/site/",
      "/site/docs/",
      "/site/docs/getting-started",
      "/site/docs/install",
      "/site/docs/config",
      "/site/docs/api/",
      "/site/docs/api/auth",
      "/site/docs/api/errors",
      "/site/docs/api/limits",
      "/site/docs/api/v1",
    ]);
    const broken = done.result!.at(-1)!;
    expect(broken).toMatchObject({ status: "failed", data: null, html_url: null, htmlKey: null });
    expect(broken.error_message).toContain("404");
    const job = await call<{ pages_crawled: number; credits_used: number }>(`${stack.api}/crawl/job/${done.jobId}`, {
      key,
    });
    // Failed pages count as crawled but cost nothing.
    expect(job.body).toMatchObject({ pages_crawled: 10, credits_used: 18 });
  });

  it("stops at maxDepth (0 = the base URL only)", async () => {
    expect(pathsOf((await run({ maxDepth: 0, maxPages: 10 })).result!)).toEqual(["/site/"]);
    const one = await run({ maxDepth: 1, maxPages: 20, includePaths: ["/site/docs*"] });
    expect(pathsOf(one.result!)).toEqual(["/site/", "/site/docs/"]);
  });

  it("never exceeds maxPages, even with pages in flight in parallel", async () => {
    const paths = ["/site/", "/site/about", "/site/docs/", "/site/blog/", "/site/products", "/site/changelog"];
    let result: string[] = [];
    const hits = await hitsDuring(paths, async () => {
      result = pathsOf((await run({ maxPages: 3 })).result!);
    });
    expect(result).toEqual(["/site/", "/site/about", "/site/docs/"]);
    expect(Object.values(hits).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("stays on the base path unless crawlEntireDomain; other host names are never followed", async () => {
    const narrow = await run({ maxDepth: 1, includePaths: ["/news", "/site/alt"], maxPages: 10 });
    expect(pathsOf(narrow.result!)).toEqual(["/site/"]);
    const hits = await hitsDuring(["/news", "/site/alt"], async () => {
      const wide = await run({
        maxDepth: 1,
        includePaths: ["/news", "/site/alt"],
        crawlEntireDomain: true,
        allowSubdomains: true,
        maxPages: 2,
      });
      // The home page links /news; the root sitemap's /news/… pages queue up after it.
      expect(pathsOf(wide.result!)).toEqual(["/site/", "/news"]);
    });
    // localhost is another registrable domain than 127.0.0.1: never a subdomain.
    expect(hits).toEqual({ "/news": 1, "/site/alt": 0 });
  });

  it("seeds the frontier from the sitemap advertised in robots.txt", async () => {
    const done = await run({ includePaths: ["/site/orphan"], maxPages: 10 });
    expect(pathsOf(done.result!)).toEqual(["/site/", "/site/orphan"]);
    expect(done.result![1]!.title).toBe("Orphan page");
  });

  it("respects robots.txt even when the paths are included", async () => {
    const hits = await hitsDuring(["/site/members/area", "/site/members/secret"], async () => {
      const done = await run({ includePaths: ["/site/members*"], maxPages: 10 });
      expect(pathsOf(done.result!)).toEqual(["/site/"]);
    });
    expect(hits).toEqual({ "/site/members/area": 0, "/site/members/secret": 0 });
  });
});

describe("crawlInstruction and per-page extraction", () => {
  it("lets the model choose which links to follow through structured output; its tokens are reported, not charged", async () => {
    followRule = (url) => url.includes("/blog/") && !url.includes("/tag/") && !url.includes("/author/");
    const before = await balanceOf(accountId);
    const done = await run({ crawlInstruction: "Only blog posts", maxPages: 4 });
    expect(pathsOf(done.result!)).toEqual(["/site/", "/site/blog/", "/site/blog/post-6", "/site/blog/post-1"]);
    const calls = model.chatRequests().filter((c) => c.response_format?.json_schema?.name === "links");
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const first = calls[0]!;
    expect(first.response_format).toMatchObject({ type: "json_schema", json_schema: { strict: true } });
    expect(first.promptText).toContain("<instruction>\nOnly blog posts\n</instruction>");
    expect(
      calls.some((c) => c.promptText.includes('"/site/blog/" "Blog"') || c.promptText.includes('/site/blog/" "Blog"')),
    ).toBe(true);
    expect(done.notes).toBeUndefined();
    const job = await call<{ input_tokens: number; output_tokens: number; credits_used: number }>(
      `${stack.api}/crawl/job/${done.jobId}`,
      { key },
    );
    expect(job.body.input_tokens).toBe(300 * calls.length);
    expect(job.body.output_tokens).toBe(20 * calls.length);
    // No transformInstruction and no schema: no token charge (contract §12), only the 4 pages.
    expect(job.body.credits_used).toBe(4 * 2);
    expect(before - (await balanceOf(accountId))).toBe(4 * 2);
    expect(await ledgerGap(stack.pool, accountId, OPENING)).toBeCloseTo(0, 6);
  });

  it("with an extraction too, charges the extraction's tokens and not the link choice's", async () => {
    followRule = (url) => url.includes("/blog/") && !url.includes("/tag/") && !url.includes("/author/");
    const before = await balanceOf(accountId);
    const done = await run({ crawlInstruction: "Only blog posts", transformInstruction: "Get the title", maxPages: 3 });
    expect(done.result!.map((p) => p.data)).toEqual([
      { title: "From the model" },
      { title: "From the model" },
      { title: "From the model" },
    ]);
    const links = model.chatRequests().filter((c) => c.response_format?.json_schema?.name === "links").length;
    expect(links).toBeGreaterThanOrEqual(1);
    const job = await call<{ input_tokens: number; output_tokens: number; credits_used: number }>(
      `${stack.api}/crawl/job/${done.jobId}`,
      { key },
    );
    expect(job.body).toMatchObject({ input_tokens: 300 * links + 500 * 3, output_tokens: 20 * links + 30 * 3 });
    expect(job.body.credits_used).toBeCloseTo(3 * 2 + (530 * 3) / 1000, 6);
    expect(before - (await balanceOf(accountId))).toBeCloseTo(3 * 2 + (530 * 3) / 1000, 6);
    expect(await ledgerGap(stack.pool, accountId, OPENING)).toBeCloseTo(0, 6);
  });

  /** The page each link-choice call was about (`…/sitemap.xml` for the sitemap's URLs), in call order. */
  const linkChoicePages = () =>
    model
      .chatRequests()
      .filter((c) => c.response_format?.json_schema?.name === "links")
      .map((c) => new URL(JSON.parse(/<page>\n(.*)\n<\/page>/.exec(c.promptText)?.[1] ?? '""') as string).pathname);

  it("does not offer the model a link it declined again when other pages link it too", async () => {
    // The blog and its posts; every post links the tags and the author page, which the model declines.
    followRule = (url) => /\/site\/blog\/(post-\d)?$/.test(url);
    const done = await run({ crawlInstruction: "Only blog posts", maxPages: 20 });
    expect(pathsOf(done.result!).sort()).toEqual(
      ["/site/", "/site/blog/", ...[1, 2, 3, 4, 5, 6].map((n) => `/site/blog/post-${n}`)].sort(),
    );
    const asked = linkChoicePages();
    // The posts found on the blog page (depth 2, loaded once every depth-1 page is done) offer nothing new.
    expect(asked.filter((p) => /post-[1-5]$/.test(p))).toEqual([]);
    const offers = model
      .chatRequests()
      .filter(
        (c) => c.response_format?.json_schema?.name === "links" && /\/site\/blog\/author\/alice"/.test(c.promptText),
      );
    // The blog page and the sitemap-seeded post-6 are loaded side by side: one or both may offer it.
    expect(offers.length).toBeGreaterThanOrEqual(1);
    expect(offers.length).toBeLessThanOrEqual(2);
  });

  it("does not ask the model about the links of pages loaded once maxPages is used up", async () => {
    const done = await run({ crawlInstruction: "Everything", maxPages: 3 });
    expect(pathsOf(done.result!)).toEqual(["/site/", "/site/about", "/site/docs/"]);
    // The sitemap's URLs (at seeding) and the base page's links; /site/about and /site/docs/ are the
    // last pages maxPages allows, so their links would never be loaded.
    expect(linkChoicePages()).toEqual(["/sitemap.xml", "/site/"]);
  });

  it("follows every in-scope link when the model fails, and says so in notes", async () => {
    followRule = null;
    const done = await run({ crawlInstruction: "Only blog posts", maxPages: 3 });
    expect(pathsOf(done.result!)).toEqual(["/site/", "/site/about", "/site/docs/"]);
    expect(done.notes?.join(" ")).toMatch(/could not choose links.*every in-scope link was followed/);
    const record = await call<{ notes: string[] }>(`${stack.api}/crawl/job/${done.jobId}`, { key });
    expect(record.body.notes).toEqual(done.notes);
  });

  it("extracts each page with transformInstruction and schema; no model call without them", async () => {
    const schema = { type: "object", properties: { title: { type: "string" } }, required: ["title"] };
    const done = await run({ maxPages: 2, transformInstruction: "Get the page title", schema });
    expect(done.result!.map((p) => p.data)).toEqual([{ title: "From the model" }, { title: "From the model" }]);
    const extraction = model.chatRequests().filter((c) => c.response_format?.json_schema?.name !== "links");
    expect(extraction).toHaveLength(2);
    expect(extraction[0]!.promptText).toContain("Get the page title");
    expect(extraction[0]!.promptText).toContain("Acme Docs - Home");

    model.reset();
    model.setDefault(scripted);
    const plain = await run({ maxPages: 2, transformInstruction: "" });
    expect(typeof plain.result![0]!.data).toBe("string");
    expect(model.chatRequests()).toHaveLength(0);
  });

  it("bounds each page's extraction, and a re-extraction's, by JOB_TIMEOUT_MS: a stalled model leaves the page its Markdown", async () => {
    // The model's own timeout (60 s, and a retry) is far beyond a page's budget of 8 s. The budget
    // counts from the page's load, so it leaves the model call time to start even on a loaded machine.
    const bounded = await startModelStack({ LLM_MODEL: "test-model", JOB_TIMEOUT_MS: "8000", LLM_TIMEOUT_MS: "60000" });
    try {
      bounded.model.setDefault({ hang: true });
      const k = await bounded.stack.createKey(100);
      const body = {
        baseUrl: bounded.site.url("/site/"),
        maxPages: 1,
        maxDepth: 0,
        transformInstruction: "Get the title",
      };
      const jobId = await startCrawl(bounded.stack.api, k.key, body);
      const { final } = await pollCrawl(bounded.stack.api, k.key, jobId, 30_000);
      expect(final.status).toBe("completed");
      expect(final.result).toHaveLength(1);
      expect(final.result![0]!.status).toBe("success");
      expect(final.result![0]!.data).toEqual(expect.stringContaining("Welcome to Acme"));
      expect(bounded.model.chatRequests().length).toBeGreaterThanOrEqual(1);
      expect(bounded.model.chatRequests().length).toBeLessThanOrEqual(2);

      const again = await call<{ jobId: string }>(`${bounded.stack.api}/crawl/${jobId}/extract`, {
        key: k.key,
        body: { transformInstruction: "Get the title again" },
      });
      expect(again.status).toBe(202);
      const extracted = await pollCrawl(bounded.stack.api, k.key, again.body.jobId, 30_000);
      expect(extracted.final.status).toBe("completed");
      expect(extracted.final.result![0]!.data).toEqual(expect.stringContaining("Welcome to Acme"));
    } finally {
      bounded.model.setDefault(undefined);
      await bounded.stop();
    }
  });

  it("returns schema_warnings for unsupported keywords on submit and poll", async () => {
    const res = await call<{ schema_warnings?: string[]; jobId: string }>(`${stack.api}/crawl`, {
      key,
      body: {
        baseUrl: site.url("/site/"),
        maxPages: 1,
        maxDepth: 0,
        schema: { type: "object", properties: { a: { anyOf: [{ type: "string" }] } } },
      },
    });
    expect(res.status).toBe(202);
    expect(res.body.schema_warnings?.length).toBeGreaterThan(0);
    const { final } = await pollCrawl(stack.api, key, res.body.jobId);
    expect(final.schema_warnings).toEqual(res.body.schema_warnings);
  });
});
