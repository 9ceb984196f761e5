import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startCanary, type Canary } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startModelStack, startTestStack, type TestStack } from "./helpers/stack.ts";
import { page, prose } from "./helpers/prose-page.ts";

/*
 * Gaps found by a mutation audit of the network guard's messages, the browser actions and the proxy
 * router. Each test asserts what a caller sees through the real gateway, worker and Chromium.
 */

const PROSE = prose(6);

/** Pages whose visible text reports what the actions did to them. */
const ROUTES: Record<string, () => string> = {
  // A search form with a box and a button both called "Search", two checkboxes, and a hidden button.
  "/form": () =>
    page(
      "Shop search",
      `<main><h1>Shop search</h1>${PROSE}
      <form id="f" onsubmit="return false">
        <label><input type="checkbox" id="news"> Subscribe to newsletter</label>
        <label><input type="checkbox" id="terms" checked> Accept terms</label>
        <input type="text" id="q" aria-label="Search" placeholder="Search">
        <button type="button" id="go">Search</button>
        <button type="button" id="ghost" style="display:none">Secret button</button>
      </form>
      <p id="out">No search yet</p>
      <script>
        document.getElementById("go").addEventListener("click", () => {
          const yes = (id) => (document.getElementById(id).checked ? "yes" : "no");
          document.getElementById("out").textContent =
            "Searched for " + document.getElementById("q").value + " with newsletter " + yes("news") + " and terms " + yes("terms");
        });
      </script></main>`,
    ),
  // A tall page that writes how far down it is scrolled.
  "/tall": () =>
    page(
      "Tall page",
      `<main><h1>Tall page</h1><p id="pos">Not scrolled</p><div style="height:6000px">${PROSE}</div>
      <script>
        addEventListener("scroll", () => {
          const max = document.documentElement.scrollHeight - innerHeight;
          document.getElementById("pos").textContent = "Scrolled to " + Math.round((scrollY / max) * 100) + " percent";
          document.getElementById("pos").style.position = "fixed";
        });
      </script></main>`,
    ),
  // Two buttons no description can tell apart; each writes which one was clicked.
  "/two-carts": () =>
    page(
      "Two offers",
      `<main><h1>Two offers</h1>${PROSE}
      <div><h2>Offer</h2><button type="button" onclick="document.getElementById('out').textContent='Added offer one'">Add to cart</button></div>
      <div><h2>Offer</h2><button type="button" onclick="document.getElementById('out').textContent='Added offer two'">Add to cart</button></div>
      <p id="out">Cart is empty</p></main>`,
    ),
  // News that arrives 5 s after the page loaded (longer than any settle).
  "/late": () =>
    page(
      "Late news",
      `<main><h1>Late news</h1>${PROSE}<p id="late">Waiting for news</p>
      <script>setTimeout(() => { document.getElementById("late").textContent = "The late news arrived"; }, 5000);</script></main>`,
    ),
};

let canary: Canary;
let server: ReturnType<typeof createServer>;
let origin = "";
let stack: TestStack;
let key: string;

beforeAll(async () => {
  canary = await startCanary();
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    // A redirect to an HTTPS loopback address: Chromium asks the egress proxy for a CONNECT tunnel,
    // the policy refuses it, and the navigation itself throws (no refusal page to read).
    if (path === "/to-private-https") {
      res.writeHead(302, { location: `https://127.0.0.1:${canary.port}/secret` });
      res.end();
      return;
    }
    const render = ROUTES[path];
    if (render) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(render());
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page("Harbour budget approved", `<main><h1>Harbour budget approved</h1>${PROSE}</main>`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  // Private addresses refused; the test site's host:port is the one allowed intranet exception.
  stack = await startTestStack({
    env: {
      ALLOW_PRIVATE_NETWORK: "false",
      ALLOW_HOSTS: `127.0.0.1:${port}`,
      PAGE_TIMEOUT_MS: "8000",
      ACTION_TIMEOUT_MS: "3000",
    },
  });
  key = (await stack.createKey(10_000)).key;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await canary?.close();
});

describe("network policy: what the caller reads when a hop is refused", () => {
  it("a page whose load fails on a refused HTTPS redirect says it was blocked by network policy", async () => {
    const final = await scrapeAndWait(
      stack.api,
      key,
      {
        urls: [
          { url: `${origin}/article`, actions: [{ type: "wait", duration: 10 }] },
          { url: `${origin}/to-private-https`, actions: [{ type: "wait", duration: 10 }] },
        ],
      },
      90_000,
    );
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const [ok, refused] = final.result?.data ?? [];
    expect(ok?.success).toBe(true);
    expect(refused?.success).toBe(false);
    expect(refused?.error ?? "").toContain("Blocked by network policy");
    expect(canary.hits()).toBe(0);
  }, 120_000);
});

const scrapeOne = (path: string, actions: unknown[]): Promise<PollBody> =>
  scrapeAndWait(stack.api, key, { urls: [{ url: `${origin}${path}`, actions }] }, 90_000);

describe("browser actions: what each one does to the page", () => {
  it("types into the box called Search (not the button), checks, unchecks and clicks by description", async () => {
    const final = await scrapeOne("/form", [
      { type: "type", selector: "Search", value: "backpack" },
      { type: "check", value: "Subscribe to newsletter" },
      { type: "uncheck", value: "Accept terms" },
      { type: "click", value: "Search button" },
    ]);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result?.data[0]?.markdownContent, JSON.stringify(final.result?.data[0])).toContain(
      "Searched for backpack with newsletter yes and terms no",
    );
  });

  it("scrolls to the percentage asked for", async () => {
    const final = await scrapeOne("/tall", [{ type: "scroll", to: "50%" }]);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result?.data[0]?.markdownContent).toMatch(/Scrolled to (49|50|51) percent/);
  });

  it("waits as long as asked, so content that arrives late is read", async () => {
    const waited = await scrapeOne("/late", [{ type: "wait", duration: 6000 }]);
    expect(waited.status, waited.error ?? "").toBe("completed");
    expect(waited.result?.data[0]?.markdownContent).toContain("The late news arrived");
  });
});

describe("browser actions: what the caller reads when one fails", () => {
  it("names the failing action by its 0-based index and the selector nothing matched, within ACTION_TIMEOUT_MS", async () => {
    const final = await scrapeOne("/form", [
      { type: "wait", duration: 10 },
      { type: "click", selector: "#no-such-button" },
      { type: "wait", duration: 10 },
    ]);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/: Action 1 \(click\): nothing matches selector "#no-such-button" \(waited 3000 ms\)/);
  });

  it("says an element that never became clickable timed out after ACTION_TIMEOUT_MS, and why", async () => {
    const final = await scrapeOne("/form", [{ type: "click", selector: "#ghost" }]);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/: Action 0 \(click\): timed out after 3000 ms \(.*not visible/);
  });

  it("stops at the first failing action: the actions after it do not run", async () => {
    const final = await scrapeOne("/form", [
      { type: "type", selector: "#q", value: "tent" },
      { type: "click", selector: "#no-such-button" },
      { type: "click", selector: "#go" },
    ]);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/: Action 1 \(click\): nothing/);
    expect(JSON.stringify(final)).not.toContain("Searched for tent");
  });
});

describe("browser actions: a target the model chooses", () => {
  it("clicks the element the model picked among equal matches, and reports the tokens that cost", async () => {
    const models = await startModelStack();
    try {
      const { key: k } = await models.stack.createKey(1000);
      models.model.setDefault({ content: { index: 1 } });
      const final = await scrapeAndWait(
        models.stack.api,
        k,
        { urls: [{ url: `${origin}/two-carts`, actions: [{ type: "click", value: "Add to cart button" }] }] },
        90_000,
      );
      expect(final.status, final.error ?? "").toBe("completed");
      expect(models.model.chatRequests().length).toBe(1);
      expect(final.result?.data[0]?.markdownContent).toContain("Added offer two");
      // No prompt: the only model call is the element choice, and its tokens are reported.
      expect(final.result?.stats.totalTokens ?? 0).toBeGreaterThan(0);
    } finally {
      await models.stop();
    }
  }, 120_000);
});
