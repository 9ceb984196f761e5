// Issue 8, "Abuse and bad input" / fuzz: thousands of generated bodies (arbitrary JSON, and valid
// bodies built from the contract's schemas with random fields replaced, removed or added) against
// every submit route, and generated query strings against the list routes: zero 5xx, and every
// refusal in the contract's envelope. Seeded: FUZZ_SEED=<n> replays a run (fast-check prints the
// seed and the shrunk counterexample on failure); FUZZ_RUNS scales the number of runs.
import { randomUUID } from "node:crypto";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldPaths, submits, withValue, type Path, type Submit } from "./helpers/contract-bodies.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);

let stack: TestStack;
let site: FixtureSite;
let key: string;
let routes: Submit[];
const statuses = new Map<number, number>();
let requests = 0;

interface Answer {
  status: number;
  body: unknown;
}

/** The property every answer must have: not a 5xx, and a refusal in the envelope. */
function expectSane(res: Answer, what: string): void {
  requests++;
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status >= 500) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  if (res.status >= 400) {
    const body = res.body as { status?: unknown; message?: unknown; error?: unknown };
    if (body?.status !== "error" || typeof body.message !== "string" || body.error !== body.message) {
      throw new Error(`${what} answered ${res.status} outside the envelope: ${JSON.stringify(res.body).slice(0, 300)}`);
    }
  }
}

const post = async (route: Submit, body: unknown, raw?: string): Promise<Answer> =>
  call(`${stack.api}${route.path}`, raw !== undefined ? { key, rawBody: raw } : { key, body });

const params = (seed: number, numRuns: number) => ({
  seed,
  numRuns: Math.max(1, Math.round(numRuns * SCALE)),
});

beforeAll(async () => {
  site = await startFixtureSite();
  // No worker: accepted jobs stay queued. Few credits and the default pending limits keep the number
  // of accepted fuzz jobs small; the rest answer 403/429, which must be well-formed too.
  stack = await startTestStack({ worker: false });
  key = (await stack.createKey(30)).key;
  routes = submits(site.url("/"), randomUUID());
});

afterAll(async () => {
  const byStatus = [...statuses.entries()].sort(([x], [y]) => x - y).map(([s, n]) => `${s}×${n}`);
  console.log(
    `fuzz (seed ${SEED}): ${requests} requests, ${byStatus.join(", ")}; 5xx: ${[...statuses.keys()].filter((s) => s >= 500).length}`,
  );
  await stack?.stop();
  await site?.close();
});

/** A JSON value of any shape, including the awkward ones (huge numbers, unicode, empty containers). */
const anyJson = fc.jsonValue({ maxDepth: 4 });

describe("fuzzed submit bodies", () => {
  it("arbitrary JSON on every submit route: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, async (body) => {
        // The same body to every route at once.
        const answers = await Promise.all(routes.map((route) => post(route, body)));
        answers.forEach((res, i) => expectSane(res, `${routes[i]!.name} ${JSON.stringify(body).slice(0, 200)}`));
      }),
      params(SEED, 200),
    );
  }, 120_000);

  it("arbitrary JSON, and a cookies field of any type, as a batch retry's body (it has no schema): never a 5xx", async () => {
    const retry = `${stack.api}/batch/scrape/${randomUUID()}/retry`;
    const body = fc.oneof(anyJson, fc.record({ cookies: anyJson }));
    await fc.assert(
      fc.asyncProperty(body, async (sent) => {
        expectSane(await call(retry, { key, body: sent }), `retry ${JSON.stringify(sent).slice(0, 200)}`);
      }),
      params(SEED + 1, 200),
    );
  }, 120_000);

  it("valid bodies with fields replaced, removed or added: never a 5xx", async () => {
    const paths = routes.map((r) => fieldPaths(r.schema));
    const mutation = (i: number) =>
      fc.oneof(
        fc.record({ kind: fc.constant("set" as const), path: fc.constantFrom(...paths[i]!), value: anyJson }),
        fc.record({
          kind: fc.constant("delete" as const),
          path: fc.constantFrom(...paths[i]!),
          value: fc.constant(null),
        }),
        fc.record({
          kind: fc.constant("add" as const),
          path: fc.string({ minLength: 1, maxLength: 12 }).map((k): Path => [k]),
          value: anyJson,
        }),
      );
    // One mutated body per route, sent together.
    const mutated = fc.tuple(...routes.map((_, i) => fc.array(mutation(i), { minLength: 1, maxLength: 4 })));
    await fc.assert(
      fc.asyncProperty(mutated, async (perRoute) => {
        const bodies = perRoute.map((mutations, i) => {
          let body: Record<string, unknown> = structuredClone(routes[i]!.valid);
          for (const m of mutations) body = withValue(body, m.path, m.kind === "delete" ? undefined : m.value);
          return body;
        });
        const answers = await Promise.all(bodies.map((body, i) => post(routes[i]!, body)));
        answers.forEach((res, i) => expectSane(res, `${routes[i]!.name} ${JSON.stringify(bodies[i]).slice(0, 300)}`));
      }),
      params(SEED + 1, 400),
    );
  }, 180_000);

  it("text that is not JSON, or barely is: never a 5xx", async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      anyJson.map((v) => JSON.stringify(v).slice(0, -1)),
      anyJson.map((v) => `${JSON.stringify(v)}${JSON.stringify(v)}`),
      fc.string({ unit: fc.constantFrom("{", "}", "[", "]", '"', ":", ",", "\\", "u", "0", " ", "\u0000", "\ud800") }),
    );
    await fc.assert(
      fc.asyncProperty(text, async (raw) => {
        const answers = await Promise.all(routes.map((route) => post(route, undefined, raw)));
        answers.forEach((res, i) => expectSane(res, `${routes[i]!.name} raw ${JSON.stringify(raw).slice(0, 200)}`));
      }),
      params(SEED + 2, 100),
    );
  }, 120_000);
});

describe("fuzzed query strings", () => {
  const listPaths = [
    "/scrape-logs",
    "/usage-stats",
    "/usage",
    "/account/usage",
    "/crawl/history",
    "/batch/scrape",
    `/crawl/${randomUUID()}/download`,
  ];
  const names = fc.constantFrom(
    "page",
    "limit",
    "status",
    "searchTerm",
    "channel",
    "dateStart",
    "dateEnd",
    "range",
    "include",
    "__proto__",
    "constructor",
  );
  const values = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom(
      "7d",
      "30d",
      "weekly",
      "success",
      "failed",
      "in_progress",
      "2026-02-30",
      "0000-01-01",
      "9999-99-99",
      "-1",
      "1e400",
    ),
  );

  it("generated parameters (repeated, unknown, malformed) on every list route: never a 5xx", async () => {
    const query = fc.oneof(
      fc.array(fc.tuple(fc.oneof(names, fc.string({ maxLength: 8 })), values), { maxLength: 6 }).map((pairs) => {
        const q = new URLSearchParams();
        for (const [k, v] of pairs) q.append(k, v);
        return q.toString();
      }),
      // Raw, possibly malformed escapes and brackets, sent as they are.
      fc.string({ unit: fc.constantFrom("%", "a", "=", "&", "[", "]", "1", "é", "+", "page", "limit", "E0") }),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const answers = await Promise.all(listPaths.map((path) => call(`${stack.api}${path}?${q}`, { key })));
        answers.forEach((res, i) => expectSane(res, `GET ${listPaths[i]}?${q}`));
      }),
      params(SEED + 3, 150),
    );
    expect(requests).toBeGreaterThan(3000);
  }, 180_000);
});
