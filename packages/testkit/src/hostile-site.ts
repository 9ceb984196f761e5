// Pages that attack the scraper rather than the target: they never answer, never finish loading,
// spin the renderer's main thread forever, trickle bytes, stream 50 MB, open dialog and pop-up
// loops, or push downloads. Plain node:http, one instance per test file. Bodies are generated as
// streams with backpressure, so a 50 MB page costs the test process one 64 KB chunk, not 50 MB.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenTracked } from "./listen.ts";

export interface HostileSite {
  origin: string;
  port: number;
  url(path: string): string;
  /** Requests received for a pathname. */
  hits(path: string): number;
  /** Body bytes written for a pathname (every request summed), as far as the client took them. */
  bytesSent(path: string): number;
  /** Responses still being written (trickles, streams, hangs) — 0 once clients have given up. */
  openResponses(): number;
  close(): Promise<void>;
}

/** Marker text each page that should be returned carries in its body (tests look for it). */
export const HOSTILE_CONTENT_MARKER = "Orbweaver survived this page";

const HTML = "text/html; charset=utf-8";
const CHUNK = 64 * 1024;
const MB = 1024 * 1024;

function page(title: string, body: string, script = ""): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>
<h1>${title}</h1>
<p>${HOSTILE_CONTENT_MARKER}: ${title.toLowerCase()}. The text is long enough to be read as a real article,
so an honest scraper returns it instead of calling the page empty. Hostile pages must not take the worker down.</p>
${body}
${script ? `<script>${script}</script>` : ""}
</body></html>`;
}

const BROKEN_TEXT_BODY = `<p>References: (&#0;) (&#xD800;) (&#xDFFF;).</p><p id="broken">Static text.</p>`;
const BROKEN_TEXT_SCRIPT = `
document.title = "Broken \\ud83d text \\u0000 here";
document.getElementById("broken").textContent = "Half an emoji: (\\ud83d), a NUL: (\\u0000), a whole one: (\\ud83d\\ude00).";
`;

const BROKEN_TEXT_APP = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>App</title></head><body>
<div id="app"></div><script>
document.getElementById("app").innerHTML = ${JSON.stringify(page("Broken text", BROKEN_TEXT_BODY).replace(/^[\s\S]*<body>|<\/body>[\s\S]*$/g, ""))};
${BROKEN_TEXT_SCRIPT}
</script></body></html>`;

const TAMPERED_LINKS_APP = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>App</title></head><body>
<div id="app"></div><script>
document.getElementById("app").innerHTML = ${JSON.stringify(page("Tampered links", '<p><a href="/ok">A calm page</a></p>').replace(/^[\s\S]*<body>|<\/body>[\s\S]*$/g, ""))};
Object.defineProperty(HTMLAnchorElement.prototype, "href", { get: function () { throw new Error("no\\u0000links"); } });
</script></body></html>`;

/** Dialogs while parsing (each one blocks the parser until dismissed), then an endless interval of them. */
const DIALOG_SCRIPT = `
window.onbeforeunload = function (e) { e.preventDefault(); e.returnValue = "stay"; return "stay"; };
for (var i = 0; i < 25; i++) { alert("alert " + i); confirm("confirm " + i); prompt("prompt " + i, "x"); }
document.body.insertAdjacentHTML("beforeend", "<p id='after-dialogs'>Text written after the dialogs.</p>");
setInterval(function () { alert("again"); confirm("again?"); prompt("again", "y"); }, 5);
`;

/** Pop-ups with and without an opener, opened in a tight loop until the page is closed. */
const POPUP_SCRIPT = `
var n = 0;
function burst() {
  for (var i = 0; i < 5; i++) {
    n++;
    window.open("/popup-target?n=" + n, "_blank");
    window.open("/popup-target?noopener=" + n, "_blank", "noopener");
  }
}
burst();
setInterval(burst, 50);
`;

/** A link to a 50 MB file, clicked by script as soon as the page is parsed. */
const AUTO_DOWNLOAD_SCRIPT = `
var a = document.createElement("a");
a.href = "/download?name=auto-download.bin&mb=50";
a.download = "auto-download.bin";
document.body.appendChild(a);
a.click();
`;

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const n = Number(url.searchParams.get(name));
  return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), max) : fallback;
}

export async function startHostileSite(opts: { host?: string; port?: number } = {}): Promise<HostileSite> {
  const hitsByPath = new Map<string, number>();
  const bytesByPath = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const count = (path: string, n: number): void => {
    bytesByPath.set(path, (bytesByPath.get(path) ?? 0) + n);
  };

  /** Writes `total` bytes of `filler` chunks after `head`, waiting for drain; stops when the client leaves. */
  async function stream(res: ServerResponse, path: string, head: string, total: number, filler: Buffer) {
    let sent = 0;
    const write = (buf: Buffer): Promise<void> =>
      new Promise((resolve) => {
        sent += buf.length;
        count(path, buf.length);
        if (res.write(buf)) resolve();
        else {
          const done = (): void => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.once("drain", done);
          res.once("close", done);
        }
      });
    await write(Buffer.from(head));
    while (sent < total && !res.destroyed) {
      await write(total - sent >= filler.length ? filler : filler.subarray(0, total - sent));
    }
    if (!res.destroyed) res.end();
  }

  function send(res: ServerResponse, path: string, body: string, headers: Record<string, string> = {}) {
    const buf = Buffer.from(body);
    count(path, buf.length);
    res.writeHead(200, { "content-type": HTML, "content-length": String(buf.length), ...headers });
    res.end(buf);
  }

  function route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    switch (path) {
      case "/ok":
        return send(res, path, page(url.searchParams.get("title") ?? "A calm page", "<p>Nothing to see.</p>"));
      // Text Postgres cannot store: character references in the HTML (a parser makes them U+FFFD),
      // and, once the script runs, a NUL character and half an emoji in the title and the text.
      case "/broken-text":
        return send(res, path, page("Broken text", BROKEN_TEXT_BODY, BROKEN_TEXT_SCRIPT));
      // The same text on a page that only its script fills (so it is read in the browser).
      case "/broken-text-app":
        return send(res, path, BROKEN_TEXT_APP);
      // A script-filled page with a link, whose script makes reading any link's address throw.
      case "/tampered-links-app":
        return send(res, path, TAMPERED_LINKS_APP);
      // Accepts the connection and never answers.
      case "/hang":
        return;
      // The document arrives at once, but an image never does, so `load` never fires.
      case "/hang-subresource":
        return send(res, path, page("Stuck image", `<img src="/hang?img=1" alt="never arrives">`));
      // The parser reaches the script and the main thread spins forever (DOMContentLoaded never comes).
      case "/busy-loop":
        return send(res, path, page("Busy loop", "<p>Before the loop.</p>", "while (true) {}"));
      // `load` fires, then the main thread spins forever: reading the page hangs, not loading it.
      case "/busy-loop-after-load":
        return send(
          res,
          path,
          page(
            "Busy loop after load",
            "<p>Loaded, then stuck.</p>",
            "window.addEventListener('load', function () { setTimeout(function () { while (true) {} }, 0); });",
          ),
        );
      // Headers at once, then one byte every 500 ms, forever.
      case "/trickle": {
        res.writeHead(200, { "content-type": HTML });
        const text = Buffer.from(
          `<!DOCTYPE html><html><head><title>Trickle</title></head><body><p>${"slow ".repeat(1e4)}`,
        );
        let i = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return;
          res.write(text.subarray(i % text.length, (i % text.length) + 1));
          count(path, 1);
          i++;
        }, 500);
        timers.add(timer);
        res.once("close", () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      // `?mb=` megabytes of valid HTML (default 50), chunked unless `?length=1` declares the size.
      case "/big": {
        const total = intParam(url, "mb", 50, 1024) * MB;
        const head = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Big page</title></head><body>`;
        const filler = Buffer.from(`<p>${"filler text ".repeat(50)}</p>\n`.repeat(Math.ceil(CHUNK / 608)));
        res.writeHead(200, {
          "content-type": HTML,
          ...(url.searchParams.get("length") === "1" ? { "content-length": String(total) } : {}),
        });
        void stream(res, path, head, total, filler);
        return;
      }
      case "/dialogs":
        return send(res, path, page("Dialog loop", "<p>Before the dialogs.</p>", DIALOG_SCRIPT));
      case "/popups":
        return send(res, path, page("Pop-up loop", "<p>Pop-ups everywhere.</p>", POPUP_SCRIPT));
      case "/popup-target":
        return send(res, path, page("Pop-up", "<p>I am a pop-up.</p>"));
      // A file sent as an attachment: `?mb=` megabytes of binary (default 20), `?name=` the file name.
      case "/download": {
        const total = intParam(url, "mb", 20, 1024) * MB;
        const name = (url.searchParams.get("name") ?? "hostile.bin").replace(/[^\w.-]/g, "_");
        res.writeHead(200, {
          "content-type": url.searchParams.get("type") ?? "application/octet-stream",
          "content-disposition": `attachment; filename="${name}"`,
          "content-length": String(total),
        });
        void stream(res, path, "", total, Buffer.alloc(CHUNK, 0x5a));
        return;
      }
      case "/auto-download":
        return send(res, path, page("Auto download", "<p>A download starts by itself.</p>", AUTO_DOWNLOAD_SCRIPT));
      default:
        res.writeHead(404, { "content-type": HTML });
        res.end(page("Not found", "<p>No such hostile page.</p>"));
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hostile.invalid");
    hitsByPath.set(url.pathname, (hitsByPath.get(url.pathname) ?? 0) + 1);
    open.add(res);
    res.once("close", () => open.delete(res));
    route(req, res, url);
  });
  const listening = await listenTracked(server, opts.host, opts.port);
  return {
    origin: listening.origin,
    port: listening.port,
    url: (path: string) => new URL(path, listening.origin).toString(),
    hits: (path: string) => hitsByPath.get(path) ?? 0,
    bytesSent: (path: string) => bytesByPath.get(path) ?? 0,
    openResponses: () => open.size,
    close: async () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      await listening.close();
    },
  };
}
