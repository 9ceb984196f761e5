import net from "node:net";
import type { AddressInfo, Socket } from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseCharset, decodeBytes, decodeHtml, looksLikeHtml } from "../../src/fetch/decode-html.ts";
import { fetchPage } from "../../src/fetch/fetch-page.ts";
import type { FetchedPage } from "../../src/fetch/fetch-page.ts";
import { parseRefresh, refreshTarget } from "../../src/fetch/follow-refresh.ts";
import { startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { TEST_TLS_CERT, TEST_TLS_KEY } from "./tls-fixture.ts";

// What real sites send, byte for byte, from a raw socket server, through a real egress proxy; each
// expectation is what Chromium showed for the same bytes (see /work/notes/audit-http.md).

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");
const page = (body: Buffer | string, head = ""): Buffer =>
  Buffer.concat([
    latin1(`<!DOCTYPE html><html><head>${head}<title>T</title></head><body><p>`),
    typeof body === "string" ? Buffer.from(body) : body,
    latin1("</p></body></html>"),
  ]);
function answer(status: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return Buffer.concat([
    latin1(`HTTP/1.1 ${status}\r\n${lines.join("")}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`),
    body,
  ]);
}
const HTML = { "Content-Type": "text/html" };
// € “q” café in windows-1252; 日本語 in Shift_JIS.
const W1252 = Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94, 0x20, 0x63, 0x61, 0x66, 0xe9]);
const SJIS = Buffer.from([0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea]);
const BIG_STYLE = `<style>${".x { color: red } /* padding */\n".repeat(300)}</style>`;

const ROUTES: Record<string, () => Buffer> = {
  "/target": () => answer("200 OK", { "Content-Type": "text/html; charset=utf-8" }, page("the target page")),
  "/caf\u00e9": () => answer("200 OK", { "Content-Type": "text/html; charset=utf-8" }, page("the café page")),
  "/w1252": () => answer("200 OK", { "Content-Type": "text/html; charset=windows-1252" }, page(W1252)),
  "/late-meta": () => answer("200 OK", HTML, page(SJIS, `${BIG_STYLE}<meta charset="shift_jis">`)),
  "/utf8-location": () => answer("302 Found", { Location: "/caf\xc3\xa9" }, latin1("")),
  "/refresh-header": () => answer("200 OK", { ...HTML, Refresh: "0; url=/target" }, page("a stub, long enough")),
  "/meta-refresh": () => answer("200 OK", HTML, page("stub", `<meta http-equiv="refresh" content="0; URL='/target'">`)),
  "/meta-refresh-delayed": () =>
    answer("200 OK", HTML, page("stub", `<meta http-equiv="refresh" content="30; url=/target">`)),
  "/meta-refresh-noscript": () =>
    answer("200 OK", HTML, page("the page", `<noscript><meta http-equiv="refresh" content="0; url=/nojs"></noscript>`)),
  "/refresh-to-forbidden": () =>
    answer("200 OK", { ...HTML, Refresh: "0; url=http://10.255.255.1/secret" }, page("the page itself")),
  "/refresh-loop": () => answer("200 OK", { ...HTML, Refresh: "0; url=/refresh-loop?again" }, page("loop")),
  "/coding-utf8": () => answer("200 OK", { ...HTML, "Content-Encoding": "UTF-8" }, page("mislabelled coding")),
  "/coding-zstd": () => answer("200 OK", { ...HTML, "Content-Encoding": "zstd" }, page("not really zstd")),
  "/double-gzip": () =>
    answer("200 OK", { ...HTML, "Content-Encoding": "gzip, gzip" }, zlib.gzipSync(zlib.gzipSync(page("double")))),
  "/raw-deflate": () => answer("200 OK", { ...HTML, "Content-Encoding": "deflate" }, zlib.deflateRawSync(page("raw"))),
  "/untyped-table": () => answer("200 OK", {}, latin1("<table><tr><td>untyped table</td></tr></table>")),
  "/untyped-text": () => answer("200 OK", {}, latin1("plain words, untyped")),
  "/untyped-binary": () => answer("200 OK", {}, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x01])),
  "/long-headers": () => answer("200 OK", { ...HTML, "X-Big": "a".repeat(40_000) }, page("long headers")),
  "/early-hints": () =>
    Buffer.concat([
      latin1("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload; as=style\r\n\r\n"),
      answer("200 OK", HTML, page("after early hints")),
    ]),
  "/chunked-trailers": () => {
    const body = page("chunked").toString("latin1");
    return latin1(
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n" +
        `Connection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\nX-T: 1\r\n\r\n`,
    );
  },
  "/http10": () => Buffer.concat([latin1("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"), page("no length")]),
  "/no-content": () => latin1("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"),
};

function serve(socket: Socket): void {
  let head = "";
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    const target = head.split(" ")[1] ?? "/";
    const path = decodeURIComponent(new URL(target, "http://x").pathname);
    socket.end((ROUTES[path] ?? ROUTES["/target"]!)());
  });
}

let plain: net.Server;
let secure: tls.Server;
let proxy: EgressProxy;
const port = (s: net.Server): number => (s.address() as AddressInfo).port;

beforeAll(async () => {
  plain = net.createServer(serve);
  secure = tls.createServer({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT }, serve);
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => secure.listen(0, "127.0.0.1", r));
  proxy = await startEgressProxy({
    policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${port(plain)}`, `127.0.0.1:${port(secure)}`] },
  });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => plain?.close(r));
  await new Promise((r) => secure?.close(r));
});

let seq = 0;
function get(path: string, https = false): Promise<FetchedPage> {
  const url = https ? `https://127.0.0.1:${port(secure)}${path}` : `http://127.0.0.1:${port(plain)}${path}`;
  return fetchPage({ url, proxyUrl: proxy.url, tag: `h-${++seq}`, timeoutMs: 5000, ca: TEST_TLS_CERT });
}
async function html(
  path: string,
  https = false,
): Promise<{ html: string; path: string; status: number; document: string }> {
  const got = await get(path, https);
  if (!got.ok) throw new Error(`expected ok, got ${got.kind}: ${got.message}`);
  if (got.document === "pdf") throw new Error("expected a page");
  return { html: got.html, path: new URL(got.finalUrl).pathname, status: got.status, document: got.document };
}

describe("character sets as Chromium reads them", () => {
  it("decodes windows-1252's 0x80-0x9F as €, curly quotes and dashes, not C1 controls", async () => {
    expect(decodeBytes(Buffer.from([0x80, 0x85, 0x91, 0x92, 0x96, 0x97, 0x99, 0x9f, 0x81]), "windows-1252")).toBe(
      "\u20ac\u2026\u2018\u2019\u2013\u2014\u2122\u0178\u0081",
    );
    expect(decodeHtml(W1252, "text/html; charset=iso-8859-1").html).toBe("€ “q” café");
    expect((await html("/w1252")).html).toContain("<p>€ “q” café</p>");
  });

  it("finds a <meta charset> anywhere in the head, past a large inline style", async () => {
    expect((await html("/late-meta")).html).toContain("<p>日本語</p>");
  });

  it("skips comments and script content, and stops in the body past 1024 bytes", () => {
    const commented = latin1(`<!-- <meta charset="shift_jis"> --><meta charset="windows-1252"><p>caf\xe9`);
    expect(chooseCharset(commented, "text/html")).toBe("windows-1252");
    const scripted = latin1(`<script>document.write('<meta charset="koi8-r">')</script><p>caf\xe9`);
    expect(chooseCharset(scripted, "text/html")).toBe("windows-1252");
    const inBody = latin1(`<html><body><p>${"x".repeat(2000)}</p><meta charset="koi8-r"><p>caf\xe9`);
    expect(chooseCharset(inBody, undefined)).toBe("windows-1252");
    const earlyBody = latin1(`<body><meta charset="koi8-r">`);
    expect(chooseCharset(earlyBody, undefined)).toBe("koi8-r");
    // A charset in `content` counts only with http-equiv="content-type".
    expect(chooseCharset(latin1(`<meta name="x" content="text/html; charset=koi8-r"><p>caf\xe9`), undefined)).toBe(
      "windows-1252",
    );
  });
  it("marks a page whose charset nothing declared and is not UTF-8 as guessed (Chromium guesses from the bytes)", () => {
    expect(decodeHtml(page(SJIS), "text/html").guessed).toBe(true);
    expect(decodeHtml(page(SJIS, '<meta charset="shift_jis">'), "text/html").guessed).toBe(false);
    expect(decodeHtml(page("日本語"), "text/html").guessed).toBe(false);
  });
});

describe("redirects and refreshes", () => {
  it("reads a Location of raw UTF-8 bytes as UTF-8, as browsers do", async () => {
    expect(await html("/utf8-location")).toMatchObject({
      path: "/caf%C3%A9",
      html: expect.stringContaining("the café page"),
    });
  });

  it("follows an immediate Refresh header and meta refresh, not a delayed one or one in <noscript>", async () => {
    expect((await html("/refresh-header")).path).toBe("/target");
    expect(await html("/meta-refresh")).toMatchObject({ path: "/target", html: expect.stringContaining("the target") });
    expect((await html("/meta-refresh-delayed")).path).toBe("/meta-refresh-delayed");
    expect((await html("/meta-refresh-noscript")).path).toBe("/meta-refresh-noscript");
    // A refresh the network policy refuses leaves the page itself, as Chromium's aborted navigation does.
    expect(await html("/refresh-to-forbidden")).toMatchObject({
      path: "/refresh-to-forbidden",
      html: expect.stringContaining("the page itself"),
    });
    // A refresh loop stops at maxRedirects with the last stub, which the caller then judges.
    expect((await html("/refresh-loop")).html).toContain("loop");
    expect(parseRefresh('0;URL="/a b"')).toBe("/a b");
    expect(parseRefresh("5; url=/x")).toBeUndefined();
    expect(parseRefresh("0")).toBeUndefined();
    expect(refreshTarget(undefined, `<!-- <meta http-equiv="refresh" content="0;url=/x"> -->`)).toBeUndefined();
  });
});

describe("content codings and answers", () => {
  it("passes a body through under a coding Chromium does not know either; refuses zstd it cannot decode", async () => {
    expect((await html("/coding-utf8")).html).toContain("mislabelled coding");
    expect(await get("/coding-zstd")).toMatchObject({ ok: false, kind: "unsupported_content" });
  });

  it("decodes double gzip and raw deflate", async () => {
    expect((await html("/double-gzip")).html).toContain("double");
    expect((await html("/raw-deflate")).html).toContain("raw");
  });

  it("accepts response headers past Node's 16 KiB default (Chromium takes 256 KiB)", async () => {
    expect((await html("/long-headers", true)).html).toContain("long headers");
  });

  it("reads the answer after 103 Early Hints, chunked with trailers, HTTP/1.0 without a length, a 204", async () => {
    expect((await html("/early-hints")).html).toContain("after early hints");
    expect((await html("/chunked-trailers")).html).toContain("chunked");
    expect((await html("/http10")).html).toContain("no length");
    expect(await html("/no-content")).toMatchObject({ status: 204, html: "" });
  });
});

describe("untyped answers, sniffed as Chromium sniffs them", () => {
  it("takes markup Chromium takes as HTML, other text as plain text, refuses binary", async () => {
    expect(looksLikeHtml("<table><tr>")).toBe(true);
    expect(looksLikeHtml("<tablet>")).toBe(false);
    expect(await html("/untyped-table")).toMatchObject({ document: "html" });
    expect(await html("/untyped-text")).toMatchObject({ document: "text", html: "plain words, untyped" });
    expect(await get("/untyped-binary")).toMatchObject({ ok: false, kind: "unsupported_content" });
  });
});
