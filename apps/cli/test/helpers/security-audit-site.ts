import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A site of hostile pages for the SSRF audit: each page tries to make the scraper (Chromium, the
 * plain-HTTP path, the crawler, the webhook sender) contact `target` in one more way. The target is
 * a canary the stack's network policy forbids; the site itself is the stack's one allowed host.
 */
export interface HostileSite {
  origin: string;
  port: number;
  /** Names of the pages that each try one way out. */
  pages: string[];
  url(path: string): string;
  /** Deliveries the `/hook` receiver has answered (each with a redirect to the target). */
  hookHits(): number;
  close(): Promise<void>;
}

const html = (body: string) =>
  `<!doctype html><html><head><title>hostile</title></head><body><p>hostile page</p>${body}</body></html>`;

/** `targets`: addresses of the same forbidden canary, in several spellings. */
function hostilePages(targets: string[], self: () => string): Record<string, (res: ServerResponse) => void> {
  const t = targets[0] ?? "";
  const page =
    (body: string, headers: Record<string, string> = {}) =>
    (res: ServerResponse) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...headers }).end(html(body));
    };
  const pages: Record<string, (res: ServerResponse) => void> = {
    "service-worker": page(
      `<script>navigator.serviceWorker && navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready).then(() => fetch("/through-sw")).catch(() => {});</script>`,
    ),
    "send-beacon": page(`<script>navigator.sendBeacon(${JSON.stringify(`${t}/beacon`)}, "x");</script>`),
    "keepalive-fetch": page(
      `<script>addEventListener("pagehide", () => fetch(${JSON.stringify(`${t}/keepalive`)}, { method: "POST", body: "x", keepalive: true, mode: "no-cors" })); fetch(${JSON.stringify(`${t}/now`)}, { keepalive: true, mode: "no-cors" }).catch(() => {});</script>`,
    ),
    "link-prefetch": page(
      `<link rel="prefetch" href="${t}/prefetch"><link rel="preload" as="image" href="${t}/preload.png"><link rel="preconnect" href="${t}"><link rel="dns-prefetch" href="${t}"><link rel="modulepreload" href="${t}/mod.js">`,
    ),
    "link-header": page("", { link: `<${t}/link-header.css>; rel=preload; as=style` }),
    "speculation-rules": page(
      `<script type="speculationrules">{"prerender":[{"source":"list","urls":["${t}/prerender"]}],"prefetch":[{"source":"list","urls":["${t}/spec-prefetch"]}]}</script>`,
    ),
    "event-source": page(`<script>try { new EventSource(${JSON.stringify(`${t}/events`)}); } catch {}</script>`),
    "web-worker": page(
      `<script>const src = "fetch(" + JSON.stringify(${JSON.stringify(`${t}/from-worker`)}) + ", { mode: 'no-cors' }).catch(() => {}); try { importScripts(" + JSON.stringify(${JSON.stringify(`${t}/import.js`)}) + "); } catch {}"; new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));</script>`,
    ),
    "css-import": page(
      `<style>@import url("${t}/import.css"); body { background: url("${t}/bg.png"); } @font-face { font-family: x; src: url("${t}/font.woff"); } p { font-family: x; }</style>`,
    ),
    "media-elements": page(
      `<video src="${t}/v.mp4" autoplay muted></video><audio src="${t}/a.mp3" autoplay></audio><object data="${t}/object"></object><embed src="${t}/embed"><img srcset="${t}/srcset.png 1x"><picture><source srcset="${t}/source.png"><img src="/none.png"></picture>`,
    ),
    "module-script": page(
      `<script type="module">import(${JSON.stringify(`${t}/dyn.js`)}).catch(() => {});</script><script type="module" src="${t}/mod2.js"></script>`,
    ),
    "window-open": page(`<script>window.open(${JSON.stringify(`${t}/popup`)});</script>`),
    "anchor-ping": page(
      `<a id="a" href="/none" ping="${t}/ping">x</a><script>document.getElementById("a").click();</script>`,
    ),
    "form-in-frame": page(
      `<iframe name="f"></iframe><form id="f" target="f" method="get" action="${t}/form"><input name="q" value="1"></form><script>document.getElementById("f").submit();</script>`,
    ),
    "srcdoc-refresh": page(`<iframe srcdoc='<meta http-equiv="refresh" content="0;url=${t}/srcdoc">'></iframe>`),
    "refresh-header": page("", { refresh: `0; url=${t}/refresh-header` }),
    "other-spellings": page(
      targets
        .slice(1)
        .map(
          (u) =>
            `<img src="${u}/spelling.png"><iframe src="${u}/spelling"></iframe><script>fetch(${JSON.stringify(`${u}/spelling-fetch`)}, { mode: "no-cors" }).catch(() => {});</script>`,
        )
        .join(""),
    ),
    "websocket-names": page(
      targets
        .map(
          (u) =>
            `<script>try { new WebSocket(${JSON.stringify(u.replace(/^http/, "ws") + "/ws")}); } catch {}</script>`,
        )
        .join(""),
    ),
    // Local files: a page, a redirect or a refresh must never make the scraper read the server's disk.
    "file-subresources": page(
      `<iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object><embed src="file:///etc/passwd"><script>fetch("file:///etc/passwd").then((r) => r.text()).then((t) => document.body.append(t)).catch(() => {});</script>`,
    ),
    "file-navigation": page(`<script>location.href = "file:///etc/passwd";</script>`),
    "file-refresh": page(`<meta http-equiv="refresh" content="0;url=file:///etc/passwd">`),
    "file-redirect": (res) => {
      res.writeHead(302, { location: "file:///etc/passwd" }).end();
    },
    "redirect-chain": (res) => {
      // Allowed first hop, then the forbidden one: the redirect is followed by the client, not here.
      res.writeHead(302, { location: `${self()}/redirect-to-target` }).end();
    },
  };
  return pages;
}

export async function startHostileSite(targets: string[]): Promise<HostileSite> {
  const t = targets[0] ?? "";
  let origin = "";
  let hookHits = 0;
  const pages = hostilePages(targets, () => origin);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/sw.js") {
      res
        .writeHead(200, { "content-type": "text/javascript" })
        .end(
          `self.addEventListener("install", () => self.skipWaiting()); self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim())); self.addEventListener("fetch", (e) => { e.respondWith(fetch(${JSON.stringify(`${t}/from-sw`)}, { mode: "no-cors" }).catch(() => new Response("no"))); }); fetch(${JSON.stringify(`${t}/sw-boot`)}, { mode: "no-cors" }).catch(() => {});`,
        );
      return;
    }
    if (path === "/redirect-to-target") {
      res.writeHead(307, { location: `${t}/redirected` }).end();
      return;
    }
    if (path === "/robots.txt") {
      res.writeHead(200, { "content-type": "text/plain" }).end(`User-agent: *\nAllow: /\nSitemap: ${t}/sitemap.xml\n`);
      return;
    }
    if (path === "/crawl/" || path === "/crawl") {
      const links = [...targets.map((u) => `${u}/crawl/linked`), `${origin}/crawl/redirect`, `${origin}/crawl/next`];
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(html(links.map((u, i) => `<a href="${u}">link ${i}</a>`).join(" ")));
      return;
    }
    if (path === "/crawl/redirect") {
      res.writeHead(302, { location: `${t}/crawl/redirected` }).end();
      return;
    }
    if (path === "/crawl/next") {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(html(`<a href="${origin}/crawl/">home</a>`));
      return;
    }
    if (path === "/echo") {
      // Shows what the client brought (its Cookie header, its storage) and leaves `set` behind in each.
      const set = new URL(req.url ?? "/", "http://x").searchParams.get("set") ?? "";
      const value = JSON.stringify(set);
      res
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "public, max-age=3600",
          ...(set ? { "set-cookie": `left=${set}; Path=/; Max-Age=3600` } : {}),
        })
        .end(
          html(
            `<p id="cookie">cookie header: [${(req.headers.cookie ?? "").replace(/[<>&]/g, "")}]</p><p id="storage">storage: []</p>` +
              `<script>const prev = [localStorage.getItem("left"), sessionStorage.getItem("left"), document.cookie].join("|");` +
              `document.getElementById("storage").textContent = "storage: [" + prev + "]";` +
              `if (${value}) { localStorage.setItem("left", ${value}); sessionStorage.setItem("left", ${value}); document.cookie = "js=" + ${value} + "; path=/; max-age=3600"; }</script>`,
          ),
        );
      return;
    }
    if (path === "/hook") {
      // A webhook receiver that sends the delivery on to the forbidden address.
      hookHits += 1;
      req.resume();
      res.writeHead(307, { location: `${t}/hook-redirected` }).end();
      return;
    }
    const name = path.replace(/^\/p\//, "");
    const handler = pages[name];
    if (handler) return handler(res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    pages: Object.keys(pages),
    url: (path: string) => new URL(path, origin).toString(),
    hookHits: () => hookHits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
