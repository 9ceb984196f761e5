import { execSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { buildPdf, REPORT_PDF, REPORT_PDF_TEXT } from "../../../testkit/src/index.ts";
import { createMarkdownConverter } from "../../src/markdown/markdown-pool.ts";
import { convertPdfToText, isPdfReadError, PdfReadError } from "../../src/pdf/index.ts";

describe("convertPdfToText", () => {
  it("gives each page's lines in order, pages apart by a blank line, and the document's title", async () => {
    expect(await convertPdfToText(buildPdf(REPORT_PDF))).toEqual({
      markdown: REPORT_PDF_TEXT,
      title: "Quarterly report (Q3)",
    });
  });

  it("keeps the caller's bytes usable (pdf.js takes over a buffer it is given)", async () => {
    const bytes = buildPdf(REPORT_PDF);
    const copy = Buffer.from(bytes);
    await convertPdfToText(bytes);
    expect(bytes.equals(copy)).toBe(true);
  });

  it("gives no text and no title for pages of pictures without an information dictionary", async () => {
    expect(await convertPdfToText(buildPdf({ pages: [[], []] }))).toEqual({ markdown: "", title: "" });
  });

  it("reads at most maxPages pages and says how many it left out", async () => {
    const pages = Array.from({ length: 5 }, (_, i) => [`Page ${i + 1} text`]);
    const read = await convertPdfToText(buildPdf({ pages }), { maxPages: 2 });
    expect(read.markdown).toBe("Page 1 text\n\nPage 2 text\n\n[3 more pages not read: at most 2 are]");
  });

  it("reads text in a CJK font that is not embedded, through Adobe's character maps", async () => {
    const read = await convertPdfToText(buildPdf({ pages: [["日本語テキスト", "二行目"]], cjk: true }));
    expect(read.markdown).toBe("日本語テキスト\n二行目");
  });

  it("refuses a file damaged where only reading its pages finds it (a page tree that contains itself)", async () => {
    const looped = convertPdfToText(buildPdf({ pages: [["a"], ["b"]], circularPageTree: true }));
    await expect(looped).rejects.toThrow(PdfReadError);
    await expect(looped).rejects.toThrow("Not a readable PDF: Pages tree contains circular reference.");
  });

  it("refuses a password-protected PDF and a damaged one with a reason to show", async () => {
    const locked = convertPdfToText(buildPdf({ pages: [["secret"]], encrypted: true }));
    await expect(locked).rejects.toThrow(PdfReadError);
    await expect(locked).rejects.toThrow("The PDF is password-protected");
    await expect(convertPdfToText(Buffer.from("%PDF-1.7\ncut off"))).rejects.toThrow(
      "Not a readable PDF: Invalid PDF structure.",
    );
  });
});

describe("the Markdown pool's convertPdf", () => {
  const converter = createMarkdownConverter({ maxThreads: 1, timeoutMs: 30_000 });
  afterAll(() => converter.close());

  it("reads a PDF on a worker thread, between HTML pages on the same thread", async () => {
    const [pdf, page] = await Promise.all([
      converter.convertPdf(buildPdf(REPORT_PDF)),
      converter.convert("<html><body><h1>Title</h1><p>Text</p></body></html>"),
    ]);
    expect(pdf).toEqual({ markdown: REPORT_PDF_TEXT, title: REPORT_PDF.title });
    expect(page.markdown).toContain("# Title");
  });

  it("rejects an unreadable PDF with an error the worker recognises by name", async () => {
    const err = await converter.convertPdf(buildPdf({ pages: [["x"]], encrypted: true })).catch((e: unknown) => e);
    expect(isPdfReadError(err)).toBe(true);
    expect((err as Error).message).toBe("The PDF is password-protected");
    // The thread carries on.
    expect((await converter.convertPdf(buildPdf(REPORT_PDF))).markdown).toBe(REPORT_PDF_TEXT);
  });
});

describe("a PDF pool in a child process (as the worker reads PDFs)", () => {
  const children = () =>
    execSync("ps -eo pid,ppid,args")
      .toString()
      .split("\n")
      .filter((l) => /markdown-worker\.mjs/.test(l) && l.trim().split(/\s+/)[1] === String(process.pid)).length;

  it("reads PDFs and pages in its own process, and leaves none behind when closed", async () => {
    const pool = createMarkdownConverter({ maxThreads: 1, isolation: "process" });
    try {
      expect(await pool.convertPdf(buildPdf(REPORT_PDF))).toEqual({
        markdown: REPORT_PDF_TEXT,
        title: REPORT_PDF.title,
      });
      expect((await pool.convert("<h1>Hi</h1>")).markdown).toBe("# Hi");
      expect(children()).toBe(1);
    } finally {
      await pool.close();
    }
    expect(children()).toBe(0);
  });
});
