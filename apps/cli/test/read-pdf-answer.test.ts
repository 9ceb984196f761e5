import { createMarkdownConverter } from "../../../packages/extract/src/index.ts";
import { buildPdf, REPORT_PDF, REPORT_PDF_TEXT } from "@orbweaver/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { readHttpAnswer } from "../../worker/src/try-over-http.ts";
import type { WorkerContext } from "../../worker/src/worker-context.ts";

// The worker's judgement of a PDF answered over HTTP, on real Markdown threads: only the converter
// of the worker's context is used for a PDF.

const answer = (bytes: Uint8Array, status = 200) => ({
  ok: true as const,
  finalUrl: "http://127.0.0.1/report.pdf",
  status,
  headers: { "content-type": "application/pdf" },
  document: "pdf" as const,
  bytes,
});
const opts = { mainContentOnly: false, withMetadata: false };

describe("readHttpAnswer on a PDF", () => {
  const slow = createMarkdownConverter({ maxThreads: 1, timeoutMs: 1 });
  const normal = createMarkdownConverter({ maxThreads: 1 });
  // As the worker reads PDFs: in a child process whose memory is watched (here with a smaller allowance).
  const frugal = createMarkdownConverter({
    maxThreads: 1,
    isolation: "process",
    maxMemoryGrowthBytes: 64 * 1024 * 1024,
  });
  afterAll(async () => {
    await Promise.all([slow.close(), normal.close(), frugal.close()]);
  });
  const ctx = (pdfs: WorkerContext["pdfs"]) => ({ pdfs }) as WorkerContext;

  it("gives the text and title of a good PDF, and no problem", async () => {
    const read = await readHttpAnswer(ctx(normal), answer(buildPdf(REPORT_PDF)), opts);
    expect(read).toEqual({ converted: { markdown: REPORT_PDF_TEXT, title: REPORT_PDF.title }, problem: null });
  });

  it("stops a small PDF whose streams inflate past the memory allowed, saying so, and reads the next", async () => {
    const bomb = buildPdf({ pages: [["Boom"]], inflatedSpaces: 256 * 1024 * 1024 });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const read = await readHttpAnswer(ctx(frugal), answer(bomb), opts);
    expect(read.problem).toBe("The PDF needs more than 64 MB of memory to read");
    const next = await readHttpAnswer(ctx(frugal), answer(buildPdf(REPORT_PDF)), opts);
    expect(next.converted.markdown).toBe(REPORT_PDF_TEXT);
  });

  it("fails a PDF its reader cannot finish in time, saying so (not an internal error)", async () => {
    const pages = Array.from({ length: 200 }, (_, i) => [`Page ${i}`]);
    const read = await readHttpAnswer(ctx(slow), answer(buildPdf({ pages })), opts);
    expect(read.problem).toBe("The PDF could not be read within 1 ms");
    expect(read.converted.markdown).toBe("");
  });
});
