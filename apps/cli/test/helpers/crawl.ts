import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { inflateRawSync } from "node:zlib";
import { waitFor } from "@orbweaver/testkit";
import { expect } from "vitest";
import { call } from "./http.ts";

export interface CrawlPage {
  id: string;
  url: string;
  title: string;
  status: string;
  data: unknown;
  error_message: string | null;
  html_url: string | null;
  markdown_url: string | null;
  html: string | null;
  markdown: string | null;
  htmlKey: string | null;
  markdownKey: string | null;
  created_at?: string;
}

export interface CrawlBody {
  status: string;
  jobId: string;
  progress: { status: string; message: string; progress: number; pagesCrawled: number; maxPages: number } | null;
  result: CrawlPage[] | null;
  error: string | null;
  notes?: string[];
  schema_warnings?: string[];
}

/** Submits a crawl and expects 202 `{status: "queued", jobId, message}`. */
export async function startCrawl(api: string, key: string, body: Record<string, unknown>): Promise<string> {
  const res = await call<{ status: string; jobId: string; message: string }>(`${api}/crawl`, { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.status).toBe("queued");
  expect(typeof res.body.message).toBe("string");
  return res.body.jobId;
}

/** Polls a crawl until it is terminal (completed, failed or cancelled), recording every status seen. */
export async function pollCrawl(
  api: string,
  key: string,
  jobId: string,
  timeoutMs = 90_000,
): Promise<{ final: CrawlBody; seen: string[] }> {
  const seen: string[] = [];
  const final = await waitFor(
    async () => {
      const res = await call<CrawlBody>(`${api}/crawl/${jobId}`, { key });
      if (res.status !== 200) throw new Error(`crawl poll answered ${res.status}`);
      if (seen[seen.length - 1] !== res.body.status) seen.push(res.body.status);
      return ["completed", "failed", "cancelled"].includes(res.body.status) ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 150, message: `crawl ${jobId} to finish` },
  );
  return { final, seen };
}

/** Submits, polls to the end and expects `completed`. */
export async function crawl(api: string, key: string, body: Record<string, unknown>): Promise<CrawlBody> {
  const jobId = await startCrawl(api, key, body);
  const { final } = await pollCrawl(api, key, jobId);
  expect(final.status, JSON.stringify(final)).toBe("completed");
  return final;
}

/** Every link field of D17 is a string or null (the Go client decodes them as strings). */
export function expectLinkFields(page: CrawlPage): void {
  for (const field of ["html_url", "markdown_url", "html", "markdown", "htmlKey", "markdownKey"] as const) {
    const value = page[field];
    expect(value === null || typeof value === "string", `${field} of ${page.url}`).toBe(true);
  }
}

/** A signed link (which names PUBLIC_URL) moved to the origin the test stack listens on. */
export function onOrigin(origin: string, link: string): string {
  const u = new URL(link);
  return `${origin}${u.pathname}${u.search}`;
}

/** Paths of the result pages, in order. */
export const pathsOf = (pages: Array<{ url: string }>): string[] =>
  pages.map((p) => {
    const u = new URL(p.url);
    return u.pathname + u.search;
  });

/** Files of a ZIP archive, read from its central directory (stored and deflated entries). */
export function readZip(zip: Buffer): Map<string, Buffer> {
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + compressed);
    files.set(name, method === 0 ? raw : inflateRawSync(raw));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** A local webhook receiver; answers 500 to the first `failFirst` deliveries, then 200. */
export async function startWebhookReceiver(opts: { failFirst?: number } = {}): Promise<{
  url: string;
  port: number;
  received: ReceivedHook[];
  /** Waits until an event of this name has arrived (15 s at most). */
  delivered(event: string): Promise<void>;
  close(): Promise<void>;
}> {
  const received: ReceivedHook[] = [];
  let failures = opts.failFirst ?? 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      const fail = failures > 0;
      if (fail) failures--;
      res.writeHead(fail ? 500 : 200, { "content-type": "text/plain" }).end(fail ? "try later" : "ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/crawl`,
    port,
    received,
    delivered: async (event) => {
      await waitFor(() => received.some((h) => h.body.event === event), {
        timeoutMs: 15_000,
        message: `${event} delivered`,
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
