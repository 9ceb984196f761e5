import type { Readable } from "node:stream";
import type { CrawlJob, CrawlPageRow } from "@orbweaver/db";
import type { BlobStore } from "@orbweaver/storage";
import type { Archiver, ArchiverOptions } from "archiver";
import * as archiverModule from "archiver";
import { AppError } from "../../errors.ts";
import { crawlStatusOf } from "./present-crawl.ts";

// archiver 7 is CommonJS exporting a factory (`archiver("zip", opts)`); the installed types describe
// archiver 8's classes, so the factory is typed here.
type ArchiverFactory = (format: "zip", options?: ArchiverOptions) => Archiver;
const archiver = (archiverModule as unknown as { default: ArchiverFactory }).default;

export type ZipPart = "html" | "markdown" | "data";
const PARTS: readonly ZipPart[] = ["html", "markdown", "data"];

/** `?include=html,markdown,data` (default all three), the key repeated alike; unknown names are refused. */
export function parseInclude(query: string | string[] | undefined): Set<ZipPart> {
  const raw = Array.isArray(query) ? query.join(",") : query;
  if (raw === undefined || raw.trim() === "") return new Set(PARTS);
  const names = raw
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new AppError("VALIDATION_ERROR", `include must list html, markdown and/or data (got "${raw}")`, {
      errors: [`include: unknown part ${unknown.map((u) => `"${u}"`).join(", ") || "(none)"}`],
    });
  }
  return new Set(names as ZipPart[]);
}

/** `<NNN>-<slug>`: the page's position and a readable, file-system-safe form of its path. */
export function folderName(index: number, url: string): string {
  const raw = new URL(url).pathname;
  let path = raw;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // Malformed escapes stay as they are; the slug keeps letters and digits only anyway.
  }
  path = path.toLowerCase();
  const slug =
    path
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60)
      .replace(/-+$/, "") || "index";
  return `${String(index + 1).padStart(3, "0")}-${slug}`;
}

/**
 * The crawl's successful pages as a ZIP, streamed as it is built: a root `index.json` (folder →
 * url, title, status, files) and per page `<NNN>-<slug>/page.html`, `page.md`, `data.json` as
 * `include` asks. Blobs that are gone are left out of the archive and of the index (from the page's
 * `files`; a page left with no file at all is not listed, and the folders are numbered without it).
 */
export async function buildCrawlZip(
  blobs: BlobStore,
  opts: { found: CrawlJob; pages: CrawlPageRow[]; include: Set<ZipPart> },
): Promise<Readable> {
  const archive = archiver("zip", { zlib: { level: 6 } });
  const entries: Array<{ name: string; body: Readable | string }> = [];
  const index = [];
  for (const page of opts.pages) {
    const folder = folderName(index.length, page.url);
    const files: Array<{ file: string; body: Readable | string }> = [];
    const add = async (part: ZipPart, file: string, key: string | null) => {
      if (!opts.include.has(part) || !key) return;
      const blob = await blobs.get(key);
      if (blob) files.push({ file, body: blob.body });
    };
    await add("html", "page.html", page.htmlKey);
    await add("markdown", "page.md", page.markdownKey);
    if (opts.include.has("data")) {
      files.push({ file: "data.json", body: `${JSON.stringify(page.data ?? null, null, 2)}\n` });
    }
    // Nothing of the page left to put in its folder (its blobs are gone and data was not asked for):
    // no folder, and no entry in the index that would name one.
    if (files.length === 0) continue;
    for (const f of files) entries.push({ name: `${folder}/${f.file}`, body: f.body });
    index.push({
      folder,
      id: page.id,
      url: page.url,
      title: page.title ?? "",
      status: page.status,
      files: files.map((f) => f.file),
    });
  }
  const { job, crawl } = opts.found;
  const manifest = {
    jobId: crawl.id,
    baseUrl: crawl.baseUrl,
    status: crawlStatusOf(job),
    createdAt: crawl.createdAt.toISOString(),
    include: [...opts.include],
    pages: index,
  };
  archive.append(`${JSON.stringify(manifest, null, 2)}\n`, { name: "index.json" });
  for (const entry of entries) archive.append(entry.body, { name: entry.name });
  void archive.finalize().catch((err: unknown) => archive.destroy(err as Error));
  return archive;
}
