export { convertPdfToText, MAX_PDF_PAGES, PdfReadError } from "./read-pdf.ts";

/** A PDF the reader refused (password, damage), also as the Markdown pool's threads report it. */
export function isPdfReadError(err: unknown): err is Error {
  return err instanceof Error && err.name === "PdfReadError";
}
