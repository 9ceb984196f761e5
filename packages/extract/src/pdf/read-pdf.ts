import { getDocumentProxy } from "unpdf";
import type { MarkdownResult } from "../markdown/html-to-markdown.ts";

/** Pages read from one PDF; the text of later pages is left out (and said so at the end). */
export const MAX_PDF_PAGES = 2_000;

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
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: pdf.js takes the buffer over (transfers it), and the caller's must stay usable.
    pdf = await getDocumentProxy(new Uint8Array(bytes), {
      isEvalSupported: false,
      // Errors only: pdf.js's warnings about a damaged file would go to the worker's stdout.
      verbosity: 0,
    });
  } catch (err) {
    // pdf.js's own exception classes are not exported by unpdf; their names are stable.
    if ((err as Error).name === "PasswordException") throw new PdfReadError("The PDF is password-protected");
    throw new PdfReadError(`Not a readable PDF: ${(err as Error).message}`);
  }
  try {
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
  } finally {
    await pdf.destroy();
  }
}

/** Runs of spaces as one; no space at a line's ends; at most one blank line in a row. */
function tidy(text: string): string {
  return text
    .replace(/[^\S\n]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

async function titleOf(pdf: Awaited<ReturnType<typeof getDocumentProxy>>): Promise<string> {
  try {
    const { info } = await pdf.getMetadata();
    const title = (info as { Title?: unknown } | undefined)?.Title;
    return typeof title === "string" ? title.replace(/\s+/g, " ").trim() : "";
  } catch {
    return "";
  }
}
