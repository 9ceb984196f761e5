// Issue 8, "Abuse and bad input" / gateway: oversized, deeply nested, huge-array and wrongly typed
// bodies on every submit route get a 4xx in the contract's envelope, never a 5xx, and the gateway
// keeps serving. Latencies are measured and printed (not asserted: other suites share the CPU).
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { startCanary, startFixtureSite, type Canary, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CANDIDATE_VALUES,
  fieldPaths,
  gatewayValidator,
  pathName,
  submits,
  withValue,
  type Submit,
} from "./helpers/contract-bodies.ts";
import { call, type JsonResponse } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let site: FixtureSite;
let canary: Canary;
let key: string;
let routes: Submit[];

type Envelope = { status: string; message: string; error: string; errors?: string[] };

/** Answer times per kind of abuse, summarised at the end. */
const latency = new Map<string, number[]>();

function record(kind: string, ms: number): void {
  const list = latency.get(kind) ?? [];
  list.push(ms);
  latency.set(kind, list);
}

function summary(list: number[]): string {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `${list.length} requests, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
}

async function timed<T>(kind: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const out = await fn();
  record(kind, performance.now() - started);
  return out;
}

function expectClientError(res: { status: number; body: unknown }, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  const body = res.body as Envelope;
  expect(body.status, what).toBe("error");
  expect(typeof body.message, what).toBe("string");
  expect(body.message.length, what).toBeGreaterThan(0);
  expect(body.error, what).toBe(body.message);
  if (body.errors !== undefined) {
    expect(Array.isArray(body.errors), what).toBe(true);
    expect(body.errors.length, what).toBeLessThanOrEqual(21);
  }
}

/** A raw POST (node:http) so the body can be streamed without a Content-Length. */
function rawPost(url: string, opts: { body: Buffer; chunked: boolean }): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": key,
        ...(opts.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(opts.body.length) }),
      },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // left as text; the assertion shows it
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    // The server may answer and close before the whole body is sent.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    if (opts.chunked) {
      for (let i = 0; i < opts.body.length; i += 64 * 1024) req.write(opts.body.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

const post = (path: string, body: unknown): Promise<JsonResponse<Envelope>> =>
  call<Envelope>(`${stack.api}${path}`, { key, body });
const postRaw = (path: string, rawBody: string): Promise<JsonResponse<Envelope>> =>
  call<Envelope>(`${stack.api}${path}`, { key, rawBody });

/** The process still serves: a read and (with a fresh account) a valid submit succeed. */
async function expectAlive(): Promise<void> {
  const usage = await call(`${stack.api}/usage-stats?range=7d`, { key });
  expect(usage.status).toBe(200);
}

beforeAll(async () => {
  site = await startFixtureSite();
  canary = await startCanary();
  // No worker: only what the gateway accepts or refuses matters; accepted jobs stay queued.
  stack = await startTestStack({ worker: false });
  key = (await stack.createKey(1_000_000)).key;
  routes = submits(site.url("/"), randomUUID());
});

afterAll(async () => {
  const lines = [...latency.entries()].map(([kind, list]) => `  ${kind}: ${summary(list)}`);
  console.log(`abuse-gateway latencies (client side, loopback):\n${lines.join("\n")}`);
  await stack?.stop();
  await site?.close();
  await canary?.close();
});

describe("oversized bodies", () => {
  const tenMb = Buffer.from(
    JSON.stringify({ urls: [{ url: "http://x.test/" }], prompt: "x".repeat(10 * 1024 * 1024) }),
  );

  it("refuses a 10 MB body with 413 on every submit route, with and without Content-Length", async () => {
    for (const route of routes) {
      for (const chunked of [false, true]) {
        const res = await timed("10 MB body", () => rawPost(`${stack.api}${route.path}`, { body: tenMb, chunked }));
        expect(res.status, `${route.name} chunked=${chunked}`).toBe(413);
        expectClientError(res, `${route.name} 10 MB`);
      }
    }
    await expectAlive();
  });
});

describe("deep nesting", () => {
  const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);
  const deepObject = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);

  it("refuses JSON nested 100k deep, as the body and inside every kind of field", async () => {
    for (const route of routes) {
      const bodies = {
        "array body": deepArray(100_000),
        "object body": deepObject(100_000),
        "deep field": JSON.stringify(route.valid).replace(/^\{/, `{"deep":${deepArray(100_000)},`),
        "deep schema": JSON.stringify({ ...route.valid, schema: { type: "object" } }).replace(
          '"schema":{"type":"object"}',
          `"schema":${deepObject(100_000)}`,
        ),
      };
      for (const [what, raw] of Object.entries(bodies)) {
        const res = await timed("100k-deep JSON", () => postRaw(route.path, raw));
        expectClientError(res, `${route.name} ${what}`);
        expect(res.status, `${route.name} ${what}`).toBe(400);
        expect(res.body.message).toMatch(/nested too deeply/);
      }
    }
    await expectAlive();
  });

  it("refuses deep nesting hidden in actions, cookies and unknown keys, and keys that poison prototypes", async () => {
    const deep = JSON.parse(deepObject(500)) as unknown;
    const scrape = routes.find((r) => r.name === "scrape")!;
    for (const path of [
      ["urls", 0, "actions", 0, "junk"],
      ["urls", 0, "cookies", 0, "extra"],
      ["urls", 0, "junk"],
      ["junk"],
    ] as const) {
      // JSON.stringify of a 500-deep object is fine on the client; the gateway refuses it.
      const res = await timed("deep field", () => post(scrape.path, withValue(scrape.valid, [...path], deep)));
      expectClientError(res, pathName([...path]));
    }
    for (const raw of ['{"__proto__":{"isAdmin":true},"urls":[]}', '{"constructor":{"prototype":{"x":1}}}']) {
      const res = await timed("prototype poisoning", () => postRaw(scrape.path, raw));
      expect(res.status, raw).toBe(400);
      expectClientError(res, raw);
    }
    await expectAlive();
  });
});

describe("10k-element arrays", () => {
  const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

  it("refuses 10k URLs, actions, cookies, paths and schema members with a 4xx", async () => {
    const target = site.url("/");
    const scrape = routes.find((r) => r.name === "scrape")!;
    const batch = routes.find((r) => r.name === "batch")!;
    const crawl = routes.find((r) => r.name === "crawl")!;
    const props = Object.fromEntries(many(10_000, (i) => [`p${i}`, { type: "string" }]));
    const cases: Array<[string, Submit, Record<string, unknown>]> = [
      ["scrape urls", scrape, { urls: many(10_000, () => ({ url: target })) }],
      ["scrape urls as strings", scrape, { urls: many(10_000, () => target) }],
      [
        "scrape actions",
        scrape,
        { urls: [{ url: target, actions: many(10_000, () => ({ type: "wait", duration: 0 })) }] },
      ],
      [
        "nested forEach actions",
        scrape,
        {
          urls: [
            {
              url: target,
              actions: [
                { type: "forEach", observe: "rows", actions: many(10_000, () => ({ type: "wait", duration: 0 })) },
              ],
            },
          ],
        },
      ],
      [
        "scrape cookies",
        scrape,
        { urls: [{ url: target, cookies: many(10_000, (i) => ({ name: `c${i}`, value: "v" })) }] },
      ],
      ["scrape schema properties", scrape, { urls: [{ url: target }], schema: { type: "object", properties: props } }],
      [
        "scrape schema required",
        scrape,
        { urls: [{ url: target }], schema: { type: "object", required: many(10_000, (i) => `p${i}`) } },
      ],
      [
        "scrape schema enum",
        scrape,
        {
          urls: [{ url: target }],
          schema: { type: "object", properties: { a: { enum: many(10_000, (i) => i) } } },
        },
      ],
      ["batch urls", batch, { urls: many(10_000, () => target) }],
      ["batch url objects", batch, { urls: many(10_000, () => ({ url: target })) }],
      ["crawl includePaths", crawl, { baseUrl: target, includePaths: many(10_000, (i) => `/p${i}`) }],
      ["crawl excludePaths", crawl, { baseUrl: target, excludePaths: many(10_000, (i) => `/p${i}`) }],
      ["crawl cookies", crawl, { baseUrl: target, cookies: many(10_000, (i) => ({ name: `c${i}`, value: "v" })) }],
      ["crawl schema properties", crawl, { baseUrl: target, schema: { type: "object", properties: props } }],
    ];
    for (const [what, route, body] of cases) {
      const res = await timed("10k-element array", () => post(route.path, body));
      expectClientError(res, what);
    }
    // Every element wrong: the envelope lists a few problems, not 10k.
    const wrong = await timed("10k-element array", () => post(scrape.path, { urls: many(10_000, (i) => i) }));
    expectClientError(wrong, "10k wrong URLs");
    expect(wrong.body.errors!.length).toBeLessThanOrEqual(21);
    await expectAlive();
  });
});

describe("wrong types", () => {
  it("refuses every field of every submit body holding a value of the wrong type, with the envelope", async () => {
    let refused = 0;
    let accepted = 0;
    for (const route of routes) {
      const validate = gatewayValidator(route.schema, route);
      expect(validate(structuredClone(route.valid)), `${route.name} base body`).toBe(true);
      const paths = fieldPaths(route.schema);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        let wrongForThisField = 0;
        for (const value of CANDIDATE_VALUES) {
          const body = withValue(route.valid, path, value);
          // Wrong = refused by the contract's schema even after the gateway's documented coercion.
          const wrong = !validate(structuredClone(body));
          const what = `${route.name} ${pathName(path)} = ${JSON.stringify(value)}`;
          const res = await timed(wrong ? "wrong type (refused)" : "coercible value (answered)", () =>
            post(route.path, body),
          );
          expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBeLessThan(500);
          if (wrong) {
            wrongForThisField++;
            refused++;
            expectClientError(res, what);
          } else {
            accepted++;
          }
        }
        // Every field has a type, so some value is wrong for it (a schema-less field would be a gap).
        expect(wrongForThisField, `${route.name} ${pathName(path)}`).toBeGreaterThan(0);
      }
    }
    console.log(
      `wrong types: ${refused} wrongly typed bodies refused with 4xx, ${accepted} coercible ones answered < 500`,
    );
    expect(refused).toBeGreaterThan(100);
    await expectAlive();
  });

  it("answers non-object bodies, wrong content types and bad JSON with a 4xx", async () => {
    for (const route of routes) {
      for (const raw of ["null", "1", '"text"', "[]", "true", "{", '{"a":1}}', "\u0000", "{}"]) {
        const res = await timed("bad JSON", () => postRaw(route.path, raw));
        expectClientError(res, `${route.name} ${JSON.stringify(raw)}`);
      }
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
        const res = await timed("bad content type", () =>
          call<Envelope>(`${stack.api}${route.path}`, {
            key,
            rawBody: JSON.stringify(route.valid),
            headers: { "content-type": type },
          }),
        );
        expectClientError(res, `${route.name} ${type}`);
      }
    }
    await expectAlive();
  });

  it("still accepts a valid submit after all of that", async () => {
    const fresh = (await stack.createKey(100)).key;
    const res = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key: fresh,
      body: { urls: [{ url: site.url("/") }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(typeof res.body.jobId).toBe("string");
  });
});

describe("schema abuse through the API", () => {
  const withSchema = (schema: unknown) => ({ urls: [{ url: site.url("/") }], schema });

  it("refuses deep, huge, $data and catastrophic-pattern schemas with a 4xx on scrape, batch and crawl", async () => {
    const props = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: "string" }]));
    let deep: unknown = { type: "string" };
    for (let i = 0; i < 1000; i++) deep = { type: "object", properties: { a: deep } };
    const cases: Array<[string, unknown, number, RegExp]> = [
      ["1,000-deep", deep, 400, /nested too deeply/],
      [
        "40-deep (under the body limit)",
        JSON.parse('{"type":"object","not":'.repeat(40) + "{}" + "}".repeat(40)),
        422,
        /nested more than/,
      ],
      ["10k properties", { type: "object", properties: props }, 422, /maximum is 10240 bytes/],
      ["$data", { type: "object", properties: { a: { type: "number", minimum: { $data: "1/b" } } } }, 422, /minimum/],
      ["(a+)+", { type: "object", properties: { a: { type: "string", pattern: "^(a+)+$" } } }, 422, /pattern/],
      ["(a|a)*", { type: "object", properties: { a: { type: "string", pattern: "^(a|a)*$" } } }, 422, /pattern/],
    ];
    for (const [what, schema, status, pattern] of cases) {
      for (const route of routes.filter((r) => r.name !== "crawl extract")) {
        const body =
          route.name === "crawl"
            ? { baseUrl: site.url("/"), schema }
            : { ...withSchema(schema), urls: route.name === "batch" ? [site.url("/")] : withSchema(schema).urls };
        const res = await timed("schema abuse", () => post(route.path, body));
        expectClientError(res, `${route.name} ${what}`);
        expect(res.status, `${route.name} ${what}`).toBe(status);
        expect(`${res.body.message} ${(res.body.errors ?? []).join(" ")}`, what).toMatch(pattern);
      }
    }
    await expectAlive();
  });

  it("accepts $ref loops and remote references as ignored keywords, and never fetches them", async () => {
    const fresh = (await stack.createKey(100)).key;
    const schemas = [
      { type: "object", $ref: "#", properties: { a: { $ref: "#" } } },
      {
        $schema: canary.url("/meta"),
        $id: canary.url("/id"),
        type: "object",
        properties: { b: { $ref: canary.url("/b.json") } },
      },
    ];
    for (const schema of schemas) {
      const res = await call<{ jobId: string; schema_warnings?: string[] }>(`${stack.api}/scrape`, {
        key: fresh,
        body: withSchema(schema),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body.schema_warnings?.join(" ")).toMatch(/\$ref/);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(canary.hits()).toBe(0);
  });
});
