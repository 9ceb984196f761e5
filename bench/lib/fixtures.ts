// Fixture pages for the benchmarks, served on three loopback addresses (127.0.0.1/.2/.3, all of
// 127/8 reaches lo on Linux) so a page and its subresources are cross-site, as on the web.
//
// - /article/N  a static article (~25 KB): text, a list, a table, links, a cross-site stylesheet
//               and image. Plain HTTP gets the whole content.
// - /app/N      a script-rendered shell: an empty #root filled by a cross-site /app.js?n=N. Only a
//               browser that ran the script sees the text "Rendered by script #N".
// The server counts requests, so a bench can tell whether a browser loaded a page (only a browser
// fetches /app.js, /style.css and /img/*).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FIXTURE_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;

export interface BenchFixtures {
  /** Origin of each host, in FIXTURE_HOSTS order. */
  origins: string[];
  /** URL of static article n (spread over the hosts). */
  article(n: number): string;
  /** URL of script-rendered page n (spread over the hosts). */
  app(n: number): string;
  /** Requests whose path starts with `prefix` since the start (or the last reset). */
  hits(prefix: string): number;
  /** Page numbers n whose /app.js?n=… was fetched (a browser ran the page). */
  scriptRuns(): Set<number>;
  reset(): void;
  close(): Promise<void>;
}

const WORDS =
  "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches near old harbour lights under heavy rain and distant thunder".split(
    " ",
  );

function words(seed: number, count: number): string {
  const out: string[] = [];
  let x = seed * 2654435761;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(WORDS[x % WORDS.length] ?? "word");
  }
  return out.join(" ");
}

/** Article body of page n, the same for the static and the script-rendered version. */
function articleBody(n: number, linkOrigin: string): string {
  const parts: string[] = [`<h1>Article ${n}: ${words(n, 6)}</h1>`];
  for (let s = 0; s < 6; s++) {
    parts.push(`<h2>Section ${s + 1}</h2>`);
    for (let p = 0; p < 4; p++) parts.push(`<p>${words(n * 100 + s * 10 + p, 60)}.</p>`);
    parts.push(
      `<ul>${[0, 1, 2, 3].map((i) => `<li><a href="${linkOrigin}/article/${(n + s + i) % 997}">${words(n + i, 4)}</a></li>`).join("")}</ul>`,
    );
  }
  const rows = [0, 1, 2, 3, 4, 5]
    .map((r) => `<tr><td>${r}</td><td>${words(n + r, 3)}</td><td>${(n * 7 + r) % 100}</td></tr>`)
    .join("");
  parts.push(`<table><thead><tr><th>#</th><th>Name</th><th>Score</th></tr></thead><tbody>${rows}</tbody></table>`);
  return parts.join("\n");
}

function shell(opts: { n: number; title: string; css: string; body: string; script?: string }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${opts.title}</title>
<link rel="stylesheet" href="${opts.css}/style.css">
</head><body>
<header><nav><a href="/">Home</a> <a href="/article/1">Articles</a></nav></header>
${opts.body}
${opts.script ?? ""}
</body></html>
`;
}

const CSS =
  "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}td,th{padding:2px}\n";
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#48a"/></svg>`;

export async function startBenchFixtures(): Promise<BenchFixtures> {
  const counts = new Map<string, number>();
  const scriptRuns = new Set<number>();
  const origins: string[] = [];
  const other = (n: number, shift: number) => origins[(n + shift) % origins.length] ?? "";

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fixture.invalid");
    const path = url.pathname;
    const top = path.split("/")[1] ?? "";
    counts.set(top, (counts.get(top) ?? 0) + 1);
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        "content-type": type,
        "content-length": Buffer.byteLength(body),
        "access-control-allow-origin": "*",
      });
      res.end(body);
    };
    const article = /^\/article\/(\d+)$/.exec(path);
    if (article) {
      const n = Number(article[1]);
      const img = `<p><img src="${other(n, 2)}/img/${n}.svg" alt="Figure ${n}"></p>`;
      return send(
        200,
        "text/html; charset=utf-8",
        shell({
          n,
          title: `Article ${n}`,
          css: other(n, 1),
          body: `<main>${articleBody(n, other(n, 0))}${img}</main>`,
        }),
      );
    }
    const app = /^\/app\/(\d+)$/.exec(path);
    if (app) {
      const n = Number(app[1]);
      return send(
        200,
        "text/html; charset=utf-8",
        shell({
          n,
          title: `App ${n}`,
          css: other(n, 1),
          body: `<div id="root"></div>`,
          script: `<script src="${other(n, 2)}/app.js?n=${n}"></script>`,
        }),
      );
    }
    if (path === "/app.js") {
      const n = Number(url.searchParams.get("n") ?? "0");
      scriptRuns.add(n);
      const html = `<main><p>Rendered by script #${n}</p>${articleBody(n, other(n, 0))}</main>`;
      return send(
        200,
        "text/javascript; charset=utf-8",
        `document.getElementById("root").innerHTML = ${JSON.stringify(html)};\n`,
      );
    }
    if (path === "/style.css") return send(200, "text/css; charset=utf-8", CSS);
    if (path.startsWith("/img/")) return send(200, "image/svg+xml", SVG);
    if (path === "/")
      return send(200, "text/html; charset=utf-8", shell({ n: 0, title: "Home", css: "", body: "<p>Home</p>" }));
    return send(404, "text/plain", "not found");
  };

  const servers = await Promise.all(
    FIXTURE_HOSTS.map(
      (host) =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer(handle);
          server.keepAliveTimeout = 5000;
          server.once("error", reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  for (const [i, server] of servers.entries()) {
    const { port } = server.address() as AddressInfo;
    origins.push(`http://${FIXTURE_HOSTS[i]}:${port}`);
  }
  return {
    origins,
    article: (n) => `${origins[n % origins.length]}/article/${n}`,
    app: (n) => `${origins[n % origins.length]}/app/${n}`,
    hits: (prefix) => counts.get(prefix.replace(/^\//, "").split("/")[0] ?? "") ?? 0,
    scriptRuns: () => new Set(scriptRuns),
    reset: () => {
      counts.clear();
      scriptRuns.clear();
    },
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
