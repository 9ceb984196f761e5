// A deterministic local website for scraping/crawling tests. Plain node:http,
// no dependencies, one instance per test file (port 0 by default).
import { createServer, STATUS_CODES } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { escapeHtml } from "./fixture/html.ts";
import { hugePage, HUGE_DEFAULT_KB } from "./fixture/huge-page.ts";
import { actionEdgePage } from "./fixture/action-edge-pages.ts";
import { componentAppPage, componentShopPage } from "./fixture/component-shop.ts";
import { faqPage, teamPage } from "./fixture/interactive-pages.ts";
import {
  cookiesPage,
  homePage,
  jsRedirectPage,
  LOAD_MORE_MAX,
  LOAD_MORE_STEP,
  loadMorePage,
  metaRedirectPage,
  spaPage,
  statusPage,
  subresourcePage,
  componentsPage,
  declarativeComponentsPage,
  helloPage,
  titledPage,
} from "./fixture/misc-pages.ts";
import { newsArticlePage, newsListPage, robotsTxt, sitemapXml } from "./fixture/news-pages.ts";
import { formPage, productPage, searchResultsPage } from "./fixture/product-pages.ts";
import { crawlSiteRobots, serveCrawlSite } from "./fixture/crawl-site.ts";
import { serveFetchPage } from "./fixture/serve-fetch-pages.ts";
import { servePdf } from "./fixture/pdf-documents.ts";
import { serveExtrasAuditPage } from "./fixture/extras-audit-pages.ts";
import { listenTracked } from "./listen.ts";

export interface FixtureSite {
  /** e.g. http://127.0.0.1:43121 */
  origin: string;
  port: number;
  /** Absolute URL for a path on this site, e.g. url("/news?page=2"). */
  url(path: string): string;
  /**
   * Number of requests received. Without argument: all requests. With a path
   * containing "?": exact path+query matches; otherwise pathname matches.
   */
  hits(path?: string): number;
  close(): Promise<void>;
}

export interface FixtureSiteOptions {
  host?: string;
  port?: number;
}

const HTML = "text/html; charset=utf-8";
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_SLOW_MS = 3000;

type Headers = Record<string, string | string[]>;

function send(res: ServerResponse, status: number, body: string, contentType = HTML, headers: Headers = {}): void {
  if (res.destroyed) return;
  const noBody = status === 204 || status === 304;
  res.writeHead(status, {
    ...(noBody
      ? {}
      : {
          "content-type": contentType,
          "content-length": Buffer.byteLength(body),
        }),
    ...headers,
  });
  res.end(noBody ? undefined : body);
}

function notFound(res: ServerResponse): void {
  send(res, 404, statusPage(404, "Not Found"));
}

function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? Math.floor(n) : fallback;
}

function redirectBody(to: string): string {
  return `<!DOCTYPE html>\n<html><head><title>Redirecting</title></head><body><p>Moved to <a href="${escapeHtml(to)}">${escapeHtml(to)}</a>.</p></body></html>\n`;
}

function route(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  origin: string,
  hugeCache: Map<number, string>,
): void {
  const path = url.pathname;
  const params = url.searchParams;
  const to = params.get("to");

  if (path === "/") return send(res, 200, homePage());
  if (path === "/news") {
    const page = newsListPage(intParam(params, "page", 1));
    return page ? send(res, 200, page) : notFound(res);
  }
  const news = /^\/news\/(\d+)$/.exec(path);
  if (news) {
    const page = newsArticlePage(Number(news[1]));
    return page ? send(res, 200, page) : notFound(res);
  }
  const product = /^\/product\/(\d+)$/.exec(path);
  if (product) {
    const page = productPage(Number(product[1]));
    return page ? send(res, 200, page) : notFound(res);
  }
  if (path === "/slow") {
    const ms = Math.max(0, Math.min(600_000, intParam(params, "ms", DEFAULT_SLOW_MS)));
    const timer = setTimeout(() => send(res, 200, titledPage(`Slow page (${ms} ms)`)), ms);
    // Clear the timer if the client gives up so closed sites leave no handles behind.
    res.once("close", () => clearTimeout(timer));
    return;
  }
  if (path === "/hang") return; // Never answer; close() destroys the socket.
  if (path === "/redirect-loop") {
    const n = intParam(params, "n", 0) + 1;
    return send(res, 302, redirectBody(`/redirect-loop?n=${n}`), HTML, {
      location: `/redirect-loop?n=${n}`,
    });
  }
  if (path === "/redirect") {
    const status = intParam(params, "status", 302);
    if (!to || !REDIRECT_STATUSES.has(status)) {
      return send(res, 400, statusPage(400, "Bad Request: need ?to=<url>&status=301|302|303|307|308"));
    }
    return send(res, status, redirectBody(to), HTML, { location: to });
  }
  if (path === "/meta-redirect" || path === "/js-redirect") {
    if (!to) return send(res, 400, statusPage(400, "Bad Request: need ?to=<url>"));
    return send(res, 200, path === "/meta-redirect" ? metaRedirectPage(to) : jsRedirectPage(to));
  }
  if (path === "/huge") {
    const kb = intParam(params, "kb", HUGE_DEFAULT_KB);
    let body = hugeCache.get(kb);
    if (body === undefined) {
      body = hugePage(kb);
      hugeCache.set(kb, body);
    }
    return send(res, 200, body);
  }
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    const code = Number(status[1]);
    if (code < 200 || code > 599) return send(res, 400, statusPage(400, "Bad Request: status must be 200-599"));
    const extra: Headers = code === 429 || code === 503 ? { "retry-after": "1" } : {};
    return send(res, code, statusPage(code, STATUS_CODES[code] ?? "Status"), HTML, extra);
  }
  if (path === "/spa") return send(res, 200, spaPage(Number(params.get("delay") ?? 200)));
  if (path === "/cookies") {
    // ?set=name=value (repeatable) lets cookie tests seed a jar via Set-Cookie.
    const setCookies = params.getAll("set").map((c) => `${c}; Path=/`);
    return send(
      res,
      200,
      cookiesPage(req.headers.cookie, params.get("hash") === "1"),
      HTML,
      setCookies.length ? { "set-cookie": setCookies } : {},
    );
  }
  if (path === "/form") return send(res, 200, formPage());
  if (path === "/search") return send(res, 200, searchResultsPage(params));
  if (path === "/load-more") {
    return send(
      res,
      200,
      loadMorePage(intParam(params, "step", LOAD_MORE_STEP), intParam(params, "max", LOAD_MORE_MAX)),
    );
  }
  if (path === "/team") return send(res, 200, teamPage(params.get("escape") !== "0"));
  if (path === "/faq") return send(res, 200, faqPage());
  if (path === "/subresource") {
    if (!to) return send(res, 400, statusPage(400, "Bad Request: need ?to=<url>"));
    return send(res, 200, subresourcePage(to));
  }
  // A document of any type, as an API or a file server sends one: ?type=application/json&body=...&status=404
  // (&disposition=attachment: sent to save).
  if (path === "/document") {
    const disposition = params.get("disposition");
    return send(
      res,
      intParam(params, "status", 200),
      params.get("body") ?? "",
      params.get("type") ?? "text/plain; charset=utf-8",
      disposition ? { "content-disposition": disposition } : {},
    );
  }
  // A page of its own with a single short line (no scripts).
  if (path === "/hello") return send(res, 200, helloPage());
  if (path === "/components") return send(res, 200, componentsPage());
  if (path === "/declarative-components") return send(res, 200, declarativeComponentsPage());
  if (path === "/component-shop") return send(res, 200, componentShopPage(params));
  const edge = path.startsWith("/edge/") ? actionEdgePage(path, params) : null;
  if (edge) {
    const timer = setTimeout(() => send(res, edge.status, edge.body, edge.type), edge.delayMs);
    res.once("close", () => clearTimeout(timer));
    return;
  }
  if (path === "/component-app") return send(res, 200, componentAppPage());
  if (path === "/robots.txt")
    return send(res, 200, robotsTxt(origin) + crawlSiteRobots(origin), "text/plain; charset=utf-8");
  if (path === "/sitemap.xml") return send(res, 200, sitemapXml(origin), "application/xml; charset=utf-8");
  if (path === "/page-with-title") return send(res, 200, titledPage(params.get("title") ?? "Untitled"));
  if (path === "/private") return send(res, 200, titledPage("Private area"));
  if (servePdf(res, path, params)) return;
  if (serveExtrasAuditPage(req, res, path, params)) return;
  if (serveFetchPage(res, path, params, req.headers.host ?? "fixture.invalid")) return;
  if (serveCrawlSite(res, path, origin, req.headers.host ?? "")) return;
  return notFound(res);
}

export async function startFixtureSite(opts: FixtureSiteOptions = {}): Promise<FixtureSite> {
  const byPath = new Map<string, number>();
  const byPathAndQuery = new Map<string, number>();
  const hugeCache = new Map<number, string>();
  let total = 0;
  let origin = "";

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fixture.invalid");
    total++;
    byPath.set(url.pathname, (byPath.get(url.pathname) ?? 0) + 1);
    const full = url.pathname + url.search;
    byPathAndQuery.set(full, (byPathAndQuery.get(full) ?? 0) + 1);
    // robots/sitemap advertise the host the client actually used (e.g. "localhost").
    const requestOrigin = req.headers.host ? `http://${req.headers.host}` : origin;
    try {
      route(req, res, url, requestOrigin, hugeCache);
    } catch (err) {
      send(res, 500, statusPage(500, err instanceof Error ? err.message : "Internal Server Error"));
    }
  });

  const listening = await listenTracked(server, opts.host, opts.port);
  origin = listening.origin;

  return {
    origin,
    port: listening.port,
    url: (path: string) => new URL(path, origin).toString(),
    hits: (path?: string) => {
      if (path === undefined) return total;
      return path.includes("?") ? (byPathAndQuery.get(path) ?? 0) : (byPath.get(path) ?? 0);
    },
    close: listening.close,
  };
}
