import net from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { scrapeAndWait } from "./helpers/http.ts";
import { countingContexts, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

// The default mode's HTTP-first try never keeps a worse answer than Chromium gives for the same
// bytes: an immediate Refresh is followed, windows-1252 reads as Chromium reads it, and a page of
// undeclared charset that is not UTF-8 goes to Chromium, which guesses it from the bytes.

const STORY = "A quiet harbour town where the ferries leave at dawn and the market opens early. ";
const page = (body: Buffer, head = ""): Buffer =>
  Buffer.concat([
    Buffer.from(`<!DOCTYPE html><html><head>${head}<title>Edge</title></head><body><article><p>${STORY}</p><p>`),
    body,
    Buffer.from("</p></article></body></html>"),
  ]);
function answer(headers: Record<string, string>, body: Buffer): Buffer {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  const head = `HTTP/1.1 200 OK\r\n${lines.join("")}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
// 日本語のページ in Shift_JIS; “quoted” — in windows-1252.
const SJIS = Buffer.from([0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x82, 0xcc, 0x83, 0x79, 0x81, 0x5b, 0x83, 0x57]);
const W1252 = Buffer.from([0x93, 0x71, 0x75, 0x6f, 0x74, 0x65, 0x64, 0x94, 0x20, 0x97]);

const ROUTES: Record<string, Buffer> = {
  "/refresh": answer({ "Content-Type": "text/html", Refresh: "0; url=/target" }, page(Buffer.from("Redirecting"))),
  "/target": answer({ "Content-Type": "text/html; charset=utf-8" }, page(Buffer.from("The target page."))),
  "/w1252": answer({ "Content-Type": "text/html; charset=windows-1252" }, page(W1252)),
  "/sjis": answer({ "Content-Type": "text/html" }, page(SJIS)),
};

let stack: TestStack;
let key: string;
let server: net.Server;
const url = (path: string): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

useStarted(
  async () => {
    server = net.createServer((socket: Socket) => {
      socket.on("error", () => {});
      let head = "";
      socket.on("data", (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        const path = new URL(head.split(" ")[1] ?? "/", "http://x").pathname;
        socket.end(ROUTES[path] ?? ROUTES["/target"]!);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const started = await startTestStack();
    ({ key } = await started.createKey(10_000));
    return {
      stack: started,
      stop: async () => {
        await started.stop();
        await new Promise((r) => server.close(r));
      },
    };
  },
  (started) => ({ stack } = started),
);

async function scrape(path: string, scrapeMode = "default") {
  const { value: final, contexts } = await countingContexts(stack, () =>
    scrapeAndWait(stack.api, key, { urls: [{ url: url(path) }], scrapeMode }),
  );
  expect(final.status, JSON.stringify(final.error)).toBe("completed");
  return { content: final.result!.content, page: final.result!.data[0]!, contexts };
}

describe("the HTTP-first try against Chromium's answer", () => {
  it("follows an immediate Refresh header over HTTP instead of keeping the stub", async () => {
    const got = await scrape("/refresh");
    expect(got.content).toContain("The target page.");
    expect(got.content).not.toContain("Redirecting");
    expect(got.contexts).toBe(0);
  });

  it("reads windows-1252's curly quotes and dashes over HTTP as Chromium does", async () => {
    const got = await scrape("/w1252");
    expect(got.content).toContain("“quoted” —");
    expect(got.contexts).toBe(0);
  });

  it("takes a page of undeclared charset that is not UTF-8 to Chromium, which reads it right", async () => {
    const got = await scrape("/sjis");
    expect(got.content).toContain("日本語のページ");
    expect(got.contexts).toBe(1);
  });
});
