// Renders page metadata compactly for the prompt: it is context next to the
// Markdown, so it gets a fixed size cap instead of competing with the content.
import type { PageMetadata } from "../metadata/extract-page-metadata.ts";
import { safeJson } from "./build-extraction-prompt.ts";

/** Largest metadata block per page, in characters (~2k tokens). */
export const MAX_METADATA_CHARS = 8000;

function isEmpty(meta: PageMetadata): boolean {
  return meta.jsonLd.length === 0 && Object.keys(meta.openGraph).length === 0 && meta.microdata.length === 0;
}

function render(meta: PageMetadata): string {
  const parts: Record<string, unknown> = {};
  if (meta.jsonLd.length > 0) parts.jsonLd = meta.jsonLd;
  if (Object.keys(meta.openGraph).length > 0) parts.openGraph = meta.openGraph;
  if (meta.microdata.length > 0) parts.microdata = meta.microdata;
  return safeJson(parts);
}

/**
 * `<metadata>{…}</metadata>` for the page, or "" when there is none. Over the
 * cap, microdata goes first (usually duplicated by JSON-LD), then JSON-LD
 * entries from the end; `trimmed` tells the caller to log it.
 */
export function renderMetadataBlock(meta: PageMetadata): { block: string; trimmed: boolean } {
  if (isEmpty(meta)) return { block: "", trimmed: false };
  let current: PageMetadata = meta;
  let json = render(current);
  let trimmed = false;
  if (json.length > MAX_METADATA_CHARS && current.microdata.length > 0) {
    current = { ...current, microdata: [] };
    json = render(current);
    trimmed = true;
  }
  while (json.length > MAX_METADATA_CHARS && current.jsonLd.length > 0) {
    current = { ...current, jsonLd: current.jsonLd.slice(0, -1) };
    json = render(current);
    trimmed = true;
  }
  if (json.length > MAX_METADATA_CHARS || isEmpty(current)) return { block: "", trimmed: true };
  return { block: `<metadata>${json}</metadata>`, trimmed };
}
