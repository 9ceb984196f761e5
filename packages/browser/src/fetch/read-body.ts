import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";

/*
 * The raw body is collected first (capped) and decompressed in one call with
 * maxOutputLength, rather than streamed through zlib: the cap then holds for
 * the decoded size too (no decompression bombs), deflate's zlib-vs-raw
 * ambiguity can be settled by looking at the first bytes, and the async zlib
 * calls run on the thread pool so a 10 MB page does not stall the worker.
 */

export type BodyResult =
  { ok: true; bytes: Buffer } | { ok: false; kind: "too_large" | "network" | "unsupported_content"; message: string };

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

/** Content codings this client can decode, in the order advertised in Accept-Encoding. */
export const ACCEPT_ENCODING = "gzip, deflate, br";

function tooLarge(maxBytes: number, what: string): BodyResult {
  return { ok: false, kind: "too_large", message: `${what} exceeds the ${maxBytes}-byte limit` };
}

/** zlib-wrapped deflate starts with a CMF/FLG pair whose 16-bit value is a multiple of 31. */
function isZlibWrapped(b: Buffer): boolean {
  const cmf = b[0];
  const flg = b[1];
  return cmf !== undefined && flg !== undefined && (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}

async function decodeOne(coding: string, input: Buffer, maxBytes: number): Promise<Buffer> {
  // Sync-flush finishing tolerates truncated streams the way browsers do.
  const z = { maxOutputLength: maxBytes, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return gunzip(input, z);
    case "deflate":
      return isZlibWrapped(input) ? inflate(input, z) : inflateRaw(input, z);
    case "br":
      return brotli(input, {
        maxOutputLength: maxBytes,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
    default:
      throw new Error(`unreachable coding ${coding}`);
  }
}

const KNOWN = new Set(["gzip", "x-gzip", "deflate", "br"]);
/** Codings Chromium decodes and this client cannot (not offered in Accept-Encoding, but sent anyway). */
const UNDECODABLE = new Set(["zstd"]);

/**
 * Codings in the order they were applied; `unsupported` names one Chromium decodes and this client
 * cannot. A coding Chromium does not know either (`UTF-8`, `none`, `identity`: servers mislabel)
 * makes it pass the body through as it is, and so does this: no codings.
 */
function parseCodings(header: string | undefined): { codings: string[]; unsupported?: string } {
  const codings = (header ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "");
  if (codings.some((c) => !KNOWN.has(c) && !UNDECODABLE.has(c))) return { codings: [] };
  const unsupported = codings.find((c) => UNDECODABLE.has(c));
  return unsupported === undefined ? { codings } : { codings, unsupported };
}

/**
 * Reads and decodes a response body. Both the bytes on the wire and the
 * decoded bytes are capped at `maxBytes`; a declared Content-Length over the
 * cap is refused before anything is read. The response is destroyed on every
 * failure so the proxy connection closes at once.
 */
export async function readBody(res: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const { codings, unsupported } = parseCodings(res.headers["content-encoding"]);
  if (unsupported !== undefined) {
    res.destroy();
    return { ok: false, kind: "unsupported_content", message: `unsupported Content-Encoding ${unsupported}` };
  }
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    return tooLarge(maxBytes, `Content-Length ${declared}`);
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        res.destroy();
        return tooLarge(maxBytes, "response body");
      }
      chunks.push(chunk);
    }
  } catch (err) {
    return { ok: false, kind: "network", message: `body read failed: ${(err as Error).message}` };
  }

  let bytes: Buffer = Buffer.concat(chunks, total);
  // Codings are listed in application order, so undo them last-first.
  for (const coding of [...codings].reverse()) {
    if (bytes.length === 0) break;
    try {
      bytes = await decodeOne(coding, bytes, maxBytes);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ERR_BUFFER_TOO_LARGE") return tooLarge(maxBytes, `decoded (${coding}) body`);
      return { ok: false, kind: "network", message: `could not decode ${coding} body: ${e.message}` };
    }
  }
  return { ok: true, bytes };
}
