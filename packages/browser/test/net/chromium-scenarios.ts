import { chromium } from "playwright-core";
import type { Browser, BrowserContext, LaunchOptions } from "playwright-core";
import { chromiumProxyArgs } from "../../src/net/chromium-proxy-args.ts";
import type { BlockedTarget } from "../../src/net/egress-ledger.ts";
import { BASE_CHROMIUM_ARGS } from "../../src/chromium-args.ts";
import { htmlUrl, waitFor } from "./net-fixtures.ts";
import type { Canary, TestServer } from "./net-fixtures.ts";

/** Shared SSRF scenarios driven through real Chromium; each file supplies its own browser setup. */

const CHROMIUM_BASE_ARGS = [...BASE_CHROMIUM_ARGS, "--disable-quic"];

/** Launches headless Chromium with the base args and the egress-proxy args (a browser-wide `proxy` if given). */
export function launchEgressChromium(proxy?: LaunchOptions["proxy"]): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_BASE_ARGS, ...chromiumProxyArgs()],
    ...(proxy === undefined ? {} : { proxy }),
  });
}

export interface Scenario {
  name: string;
  /** Page URL to open; everything it triggers must be refused before the canary. */
  build(site: TestServer, canary: Canary): string;
}

const page = (html: string) => (site: TestServer) => htmlUrl(site, html);
const c = (canary: Canary) => `http://127.0.0.1:${canary.port}`;

export const SCENARIOS: Scenario[] = [
  ...[301, 302, 303, 307, 308].map((code) => ({
    name: `HTTP ${code} redirect`,
    build: (site: TestServer, canary: Canary) =>
      `${site.origin}/redirect?code=${code}&to=${encodeURIComponent(`${c(canary)}/r${code}`)}`,
  })),
  {
    name: "redirect to localhost name",
    build: (site, canary) =>
      `${site.origin}/redirect?code=302&to=${encodeURIComponent(`http://localhost:${canary.port}/`)}`,
  },
  {
    name: "meta refresh",
    build: (site, canary) => page(`<meta http-equiv="refresh" content="0;url=${c(canary)}/meta">`)(site),
  },
  {
    name: "JS location change",
    build: (site, canary) => page(`<script>location.href = "${c(canary)}/js";</script>`)(site),
  },
  { name: "<img>", build: (site, canary) => page(`<img src="${c(canary)}/img.png">`)(site) },
  { name: "<iframe>", build: (site, canary) => page(`<iframe src="${c(canary)}/frame"></iframe>`)(site) },
  {
    name: "fetch()",
    build: (site, canary) =>
      page(`<script>fetch("${c(canary)}/fetch", { mode: "no-cors" }).catch(() => {});</script>`)(site),
  },
  {
    name: "XMLHttpRequest",
    build: (site, canary) =>
      page(`<script>const x = new XMLHttpRequest(); x.open("GET", "${c(canary)}/xhr"); x.send();</script>`)(site),
  },
  {
    name: "auto-submitted POST form",
    build: (site, canary) =>
      page(
        `<form id=f method=post action="${c(canary)}/form"><input name=a value=1></form><script>f.submit()</script>`,
      )(site),
  },
  {
    name: "https:// subresource (CONNECT)",
    build: (site, canary) => page(`<img src="https://127.0.0.1:${canary.port}/tls.png">`)(site),
  },
  {
    name: "WebSocket",
    build: (site, canary) => page(`<script>new WebSocket("ws://127.0.0.1:${canary.port}/ws");</script>`)(site),
  },
  { name: "page URL decimal 2130706433", build: (_s, canary) => `http://2130706433:${canary.port}/` },
  { name: "page URL hex 0x7f.0.0.1", build: (_s, canary) => `http://0x7f.0.0.1:${canary.port}/` },
  { name: "page URL hex 0x7f000001", build: (_s, canary) => `http://0x7f000001:${canary.port}/` },
  { name: "page URL octal 0177.0.0.1", build: (_s, canary) => `http://0177.0.0.1:${canary.port}/` },
  { name: "page URL localhost", build: (_s, canary) => `http://localhost:${canary.port}/` },
  { name: "page URL [::ffff:127.0.0.1]", build: (_s, canary) => `http://[::ffff:127.0.0.1]:${canary.port}/` },
];

export interface ScenarioEnv {
  site: TestServer;
  canary: Canary;
  newContext(): Promise<{ context: BrowserContext; blocked(): BlockedTarget[] }>;
}

/** Loads the scenario page and waits until the proxy refused the canary (or `reached` says it got through). */
export async function runScenario(
  env: ScenarioEnv,
  s: Scenario,
  expectReach: boolean,
): Promise<{ blockedCanary: boolean }> {
  const { context, blocked } = await env.newContext();
  try {
    const p = await context.newPage();
    await p.goto(s.build(env.site, env.canary), { timeout: 8000 }).catch(() => undefined);
    const port = `:${env.canary.port}`;
    const blockedCanary = () => blocked().some((b) => b.target.includes(port));
    await waitFor(() => (expectReach ? env.canary.hits() > 0 : blockedCanary()), 5000);
    // Grace period: anything that slipped past the proxy would land on the canary now.
    await p.waitForTimeout(150);
    return { blockedCanary: blockedCanary() };
  } finally {
    await context.close();
  }
}
