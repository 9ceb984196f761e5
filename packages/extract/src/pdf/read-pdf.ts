import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { getDocumentProxy } from "unpdf";
import type { MarkdownResult } from "../markdown/html-to-markdown.ts";

/** Pages read from one PDF; the text of later pages is left out (and said so at the end). */
export const MAX_PDF_PAGES = 2_000;

/**
 * The character maps and standard-font metrics of the pdf.js unpdf bundles (same version): without
 * them, text in a CJK font that is not embedded (`UniJIS-UCS2-H`, `UniGB-UCS2-H`...) reads as nothing.
 */
const PDFJS_DIR = dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"));
const CMAP_URL = join(PDFJS_DIR, "cmaps") + "/";
const STANDARD_FONT_DATA_URL = join(PDFJS_DIR, "standard_fonts") + "/";

/** A PDF whose text cannot be read; `message` is said to the user as it is. */
export class PdfReadError extends Error {
  override name = "PdfReadError";
}

/**
 * The text of a PDF (pdf.js, through unpdf's build for servers): each page's text in reading order,
 * a line break where pdf.js sees one, pages apart by a blank line; the title from the document's
 * information dictionary. Pages are read one after another, so a large document never holds every
 * page's text items at once. Throws {@link PdfReadError} for a password-protected or unreadable file.
 */
export async function convertPdfToText(bytes: Uint8Array, opts: { maxPages?: number } = {}): Promise<MarkdownResult> {
  const maxPages = opts.maxPages ?? MAX_PDF_PAGES;
  let pdf: PdfDocument;
  try {
    // A copy: pdf.js takes the buffer over (transfers it), and the caller's must stay usable.
    pdf = await getDocumentProxy(new Uint8Array(bytes), {
      isEvalSupported: false,
      cMapUrl: CMAP_URL,
      cMapPacked: true,
      standardFontDataUrl: STANDARD_FONT_DATA_URL,
      // Errors only: pdf.js's warnings about a damaged file would go to the worker's stdout.
      verbosity: 0,
    });
  } catch (err) {
    // pdf.js's own exception classes are not exported by unpdf; their names are stable.
    if ((err as Error).name === "PasswordException") throw new PdfReadError("The PDF is password-protected");
    throw new PdfReadError(`Not a readable PDF: ${(err as Error).message}`);
  }
  try {
    return await readPages(pdf, maxPages);
  } catch (err) {
    // A damaged page tree or content stream (pdf.js's own errors) is the file's fault too.
    throw err instanceof PdfReadError ? err : new PdfReadError(`Not a readable PDF: ${(err as Error).message}`);
  } finally {
    await pdf.destroy();
  }
}

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

async function readPages(pdf: PdfDocument, maxPages: number): Promise<MarkdownResult> {
  const pages: string[] = [];
  const count = Math.min(pdf.numPages, maxPages);
  for (let n = 1; n <= count; n++) {
    const page = await pdf.getPage(n);
    const content = await page.getTextContent();
    let text = "";
    for (const item of content.items) {
      if (!("str" in item)) continue;
      text += item.str + (item.hasEOL ? "\n" : "");
    }
    page.cleanup();
    pages.push(tidy(text));
  }
  let markdown = pages.filter((p) => p !== "").join("\n\n");
  if (markdown !== "" && pdf.numPages > count) {
    markdown += `\n\n[${pdf.numPages - count} more pages not read: at most ${maxPages} are]`;
  }
  return { markdown, title: await titleOf(pdf) };
}

/** Runs of spaces as one; no space at a line's ends; at most one blank line in a row. */
function tidy(text: string): string {
  return text
    .replace(/[^\S\n]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

async function titleOf(pdf: PdfDocument): Promise<string> {
  try {
    const { info } = await pdf.getMetadata();
    const title = (info as { Title?: unknown } | undefined)?.Title;
    return typeof title === "string" ? title.replace(/\s+/g, " ").trim() : "";
  } catch {
    return "";
  }
}
