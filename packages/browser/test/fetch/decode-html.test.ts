import { describe, expect, it } from "vitest";
import {
  chooseCharset,
  decodeHtml,
  decodeText,
  isTextMediaType,
  isXhtmlDocument,
  looksLikeHtml,
  mediaType,
} from "../../src/fetch/decode-html.ts";

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

describe("decodeHtml", () => {
  it.each([
    ["header charset", latin1("<p>café</p>"), "text/html; charset=ISO-8859-1", "windows-1252"],
    ["quoted header charset", latin1("<p>café</p>"), 'text/html; charset="latin1"', "windows-1252"],
    ["<meta charset>", latin1('<meta charset="iso-8859-1"><p>café</p>'), "text/html", "windows-1252"],
    [
      "<meta http-equiv> content",
      latin1('<meta http-equiv="Content-Type" content="text/html; charset=windows-1250"><p>x</p>'),
      undefined,
      "windows-1250",
    ],
    ["meta claiming utf-16 means utf-8", Buffer.from('<meta charset="utf-16"><p>é</p>'), undefined, "utf-8"],
    [
      "BOM beats the header",
      Buffer.from([0xff, 0xfe, 0x3c, 0x00, 0x70, 0x00, 0x3e, 0x00]),
      "text/html; charset=utf-8",
      "utf-16le",
    ],
    ["unknown label falls through to sniffing", Buffer.from("<p>é</p>"), "text/html; charset=x-made-up", "utf-8"],
    ["no declaration, valid UTF-8", Buffer.from("<p>naïve</p>"), "text/html", "utf-8"],
    ["no declaration, invalid UTF-8", latin1("<p>naïve</p>"), "text/html", "windows-1252"],
  ])("%s", (_name, bytes, contentType, expected) => {
    expect(chooseCharset(bytes, contentType)).toBe(expected);
  });

  it("decodes Latin-1 and strips a UTF-8 BOM", () => {
    expect(decodeHtml(latin1("<p>Größe à São Paulo</p>"), "text/html; charset=iso-8859-1").html).toBe(
      "<p>Größe à São Paulo</p>",
    );
    expect(decodeHtml(Buffer.from("\ufeff<p>x</p>"), "text/html").html).toBe("<p>x</p>");
  });

  it("parses media types and sniffs untyped markup", () => {
    expect(mediaType("Application/XHTML+XML; charset=utf-8")).toBe("application/xhtml+xml");
    expect(mediaType(undefined)).toBe("");
    expect(looksLikeHtml("\n  <!DOCTYPE html><html>")).toBe(true);
    expect(looksLikeHtml('{"json": true}')).toBe(false);
  });
});

describe("text documents", () => {
  it("tells text documents from pages and files", () => {
    const text = [
      "text/plain",
      "text/csv",
      "text/markdown",
      "application/json",
      "application/ld+json",
      "application/vnd.api+json",
      "application/xml",
      "text/xml",
      "application/rss+xml",
      "application/atom+xml",
      "application/x-ndjson",
      "application/yaml",
    ];
    for (const type of text) expect(isTextMediaType(type), type).toBe(true);
    const notText = [
      "text/event-stream",
      "text/html",
      "application/xhtml+xml",
      "application/pdf",
      "image/svg+xml",
      "image/png",
      "",
      "application/octet-stream",
    ];
    for (const type of notText) expect(isTextMediaType(type), type).toBe(false);
  });

  it("decodes by BOM, then the header's charset, then UTF-8, never by markup inside the text", () => {
    expect(decodeText(latin1("café"), "text/plain; charset=iso-8859-1")).toBe("café");
    expect(decodeText(Buffer.from('{"name":"café"}'), "application/json")).toBe('{"name":"café"}');
    expect(decodeText(latin1("naïve"), "text/plain")).toBe("naïve");
    expect(decodeText(Buffer.from("\ufeffx"), "text/plain")).toBe("x");
    // An XML declaration names the encoding when neither a BOM nor the header does.
    const feed = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="windows-1251"?><t>'),
      Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]),
      Buffer.from("</t>"),
    ]);
    expect(decodeText(feed, "application/rss+xml")).toBe('<?xml version="1.0" encoding="windows-1251"?><t>Привет</t>');
    expect(decodeText(feed, "application/rss+xml; charset=utf-8")).not.toContain("Привет");
    expect(decodeText(feed, "text/plain")).not.toContain("Привет");
    // A <meta charset> in a text document is text: UTF-8 bytes stay UTF-8.
    expect(decodeText(Buffer.from('<meta charset="iso-8859-1"> é'), "text/plain")).toBe(
      '<meta charset="iso-8859-1"> é',
    );
  });
});

describe("isXhtmlDocument", () => {
  it("tells XHTML served as XML (a page) from other XML documents", () => {
    const xhtml = [
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en"><head><title>T</title></head><body/></html>',
      "<!-- generated --><html lang='en' xmlns='http://www.w3.org/1999/xhtml'><body><p>x</p></body></html>",
      '\ufeff  <HTML XMLNS="http://www.w3.org/1999/xhtml"><body/></HTML>',
    ];
    for (const doc of xhtml) expect(isXhtmlDocument(doc), doc).toBe(true);
    const other = [
      '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>',
      "<html><body>no namespace: rendered as an XML tree</body></html>",
      '<feed xmlns="http://www.w3.org/2005/Atom"><html xmlns="http://www.w3.org/1999/xhtml"/></feed>',
      '{"html":"<html xmlns=\\"http://www.w3.org/1999/xhtml\\">"}',
    ];
    for (const doc of other) expect(isXhtmlDocument(doc), doc).toBe(false);
  });
});
