// Runs inside a worker thread (loaded by markdown-worker.mjs): answers
// conversion requests from markdown-pool.ts one at a time.
import { parentPort } from "node:worker_threads";
import { extractPageMetadata } from "../metadata/index.ts";
import { convertPdfToText } from "../pdf/read-pdf.ts";
import { convertHtmlToMarkdown, type HtmlToMarkdownOptions, type MarkdownResult } from "./html-to-markdown.ts";

/** A page's HTML to Markdown, or a PDF's bytes to its text. */
export type WorkerRequest =
  { id: number; html: string; options: HtmlToMarkdownOptions } | { id: number; pdf: Uint8Array };

export type WorkerResponse =
  | { ready: true }
  | { id: number; ok: true; result: MarkdownResult }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

/** The pool's end: a worker thread's port, or a child process's IPC channel. */
interface Port {
  postMessage(res: WorkerResponse): void;
  on(event: "message", fn: (req: WorkerRequest) => void): void;
}
const send = process.send?.bind(process);
const port: Port | null =
  parentPort ??
  (send
    ? {
        postMessage: (res) => void send(res),
        on: (event, fn) => void process.on(event, fn as (req: unknown) => void),
      }
    : null);
if (!port) throw new Error("markdown-worker.ts must be loaded in a worker thread or a child process");
// A child process ends with its parent (its channel closes).
if (!parentPort) process.on("disconnect", () => process.exit(0));

function convert(req: WorkerRequest): MarkdownResult | Promise<MarkdownResult> {
  if ("pdf" in req) return convertPdfToText(req.pdf);
  const result = convertHtmlToMarkdown(req.html, req.options);
  if (req.options.withMetadata) result.metadata = extractPageMetadata(req.html);
  return result;
}

// The pool sends a thread its next request only once it answered the last, PDFs included.
port.on("message", async (req: WorkerRequest) => {
  let res: WorkerResponse;
  try {
    res = { id: req.id, ok: true, result: await convert(req) };
  } catch (err) {
    // Errors are not structured-cloneable with their class; send the parts.
    const e = err instanceof Error ? err : new Error(String(err));
    res = {
      id: req.id,
      ok: false,
      error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) },
    };
  }
  port.postMessage(res);
});

// Tells the pool that module loading (tsx compile, ~1 s cold) is over, so
// conversion timeouts measure conversion time only.
port.postMessage({ ready: true } satisfies WorkerResponse);
