import { afterEach, describe, expect, it, vi } from "vitest";
import type { MarkdownConverter } from "../../src/markdown/markdown-pool.ts";
import {
  createMarkdownConverter,
  MarkdownConverterClosedError,
  MarkdownTimeoutError,
} from "../../src/markdown/markdown-pool.ts";
import { makeSyntheticPage, PAGE_MARKERS } from "./synthetic-page.ts";

// Track every Worker the pool creates, to assert that close() and timeouts
// really end threads (Node exposes no registry of live workers).
const tracked = vi.hoisted(() => ({ live: new Set<object>(), created: 0 }));
vi.mock("node:worker_threads", async (importOriginal) => {
  const mod = await importOriginal<typeof import("node:worker_threads")>();
  class TrackedWorker extends mod.Worker {
    constructor(...args: ConstructorParameters<typeof mod.Worker>) {
      super(...args);
      tracked.created++;
      tracked.live.add(this);
      this.once("exit", () => tracked.live.delete(this));
    }
  }
  return { ...mod, Worker: TrackedWorker };
});

const PAGE_3MB = makeSyntheticPage(3_000_000);

const open: MarkdownConverter[] = [];
function converter(opts?: Parameters<typeof createMarkdownConverter>[0]): MarkdownConverter {
  const c = createMarkdownConverter(opts);
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe("createMarkdownConverter", () => {
  it("converts in a worker thread with the same output as the core", async () => {
    const c = converter();
    const result = await c.convert('<title>T</title><h1>Hi</h1><p><a href="/x">x</a></p>', {
      baseUrl: "https://e.com/a/",
    });
    expect(result).toEqual({ markdown: "# Hi\n\n[x](https://e.com/x)", title: "T" });
  });

  it("keeps the event loop ticking while a 3 MB page converts", async () => {
    const c = converter();
    await c.convert("<p>warm</p>"); // boot the thread first so only conversion time is observed
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    try {
      const { markdown } = await c.convert(PAGE_3MB);
      expect(markdown).toContain(PAGE_MARKERS.articleMarker);
    } finally {
      clearInterval(interval);
    }
    // Run on the main thread, the same conversion would leave ticks at 0 or 1.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("rejects a conversion that exceeds timeoutMs with MarkdownTimeoutError, then keeps working", async () => {
    // The 3 MB readability conversion takes seconds; 500 ms leaves a wide
    // margin on both sides (tiny pages convert in a few ms).
    const c = converter({ timeoutMs: 500 });
    await c.convert("<p>warm</p>");
    const createdBefore = tracked.created;

    const err = await c.convert(PAGE_3MB, { mainContentOnly: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MarkdownTimeoutError);
    expect((err as Error).name).toBe("MarkdownTimeoutError");

    // Same converter, fresh thread: start-up does not count against the timeout.
    await expect(c.convert("<h2>after</h2>")).resolves.toEqual({ markdown: "## after", title: "" });
    expect(tracked.created).toBe(createdBefore + 1);
  });

  it("terminates a page that hangs the parser (deep nesting under readability)", async () => {
    const c = converter({ timeoutMs: 1_000 });
    const deep = "<div>".repeat(50_000) + "x" + "</div>".repeat(50_000);
    await expect(c.convert(deep, { mainContentOnly: true })).rejects.toMatchObject({ name: "MarkdownTimeoutError" });
    await expect(c.convert("<p>ok</p>")).resolves.toMatchObject({ markdown: "ok" });
  });

  it("does not count queue time against the timeout", async () => {
    // Calibrate on this machine (CI load varies): timeout = 5x one conversion,
    // then queue 12 on one thread, so the later ones wait far longer than the
    // timeout in total while each still runs well within it.
    const page = makeSyntheticPage(300_000);
    const probe = converter();
    await probe.convert(page);
    const t0 = performance.now();
    await probe.convert(page);
    const timeoutMs = Math.ceil((performance.now() - t0) * 5);

    const c = converter({ timeoutMs });
    await c.convert(page); // boot + JIT warm-up
    const results = await Promise.all(Array.from({ length: 12 }, () => c.convert(page)));
    for (const r of results) expect(r.markdown).toContain(PAGE_MARKERS.articleMarker);
  });

  it("runs conversions in parallel up to maxThreads", async () => {
    const c = converter({ maxThreads: 2 });
    const createdBefore = tracked.created;
    const results = await Promise.all([c.convert("<p>a</p>"), c.convert("<p>b</p>"), c.convert("<p>c</p>")]);
    expect(results.map((r) => r.markdown)).toEqual(["a", "b", "c"]);
    expect(tracked.created - createdBefore).toBeLessThanOrEqual(2);
  });

  it("close() rejects pending work, terminates every thread and refuses new work", async () => {
    const c = converter({ maxThreads: 2 });
    await Promise.all([c.convert("<p>a</p>"), c.convert("<p>b</p>")]);
    // Two start on the warm threads, the third waits in the queue.
    const pending = [c.convert(PAGE_3MB), c.convert(PAGE_3MB), c.convert(PAGE_3MB)].map((p) =>
      p.catch((e: unknown) => e),
    );
    await c.close();

    for (const outcome of await Promise.all(pending)) expect(outcome).toBeInstanceOf(MarkdownConverterClosedError);
    await expect(c.convert("<p>late</p>")).rejects.toBeInstanceOf(MarkdownConverterClosedError);
    // Earlier tests closed their converters in afterEach, so nothing may be left.
    expect(tracked.live.size).toBe(0);
  });
});
