import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { startHostileSite, waitFor, type HostileSite } from "@orbweaver/testkit";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserPool } from "../src/browser-pool.ts";
import { BASE_CHROMIUM_ARGS, EXTRA_DISABLED_FEATURES, PLAYWRIGHT_DISABLED_FEATURES } from "../src/chromium-args.ts";
import { findBrowserPid } from "../src/find-browser-process.ts";
import { guardContext, openPage } from "../src/open-page.ts";

// The launched Chromium's command line: Chromium honours only the last --disable-features, so ours
// must carry Playwright's own list (kept in chromium-args.ts) plus what we add; and what we add
// (no spare renderer per context, no WebUI address-bar popup per window) shows in the processes a
// page costs.

let site: HostileSite;
beforeAll(async () => {
  site = await startHostileSite();
});
afterAll(async () => {
  await site?.close();
});

async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
}

/** Renderer processes descending from `root`, and how many of them render Chromium's own WebUI. */
async function renderers(root: number): Promise<{ all: number; webUi: number }> {
  const parent = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid) parent.set(Number(entry), ppid);
  }
  const count = { all: 0, webUi: 0 };
  for (const pid of parent.keys()) {
    let up = parent.get(pid);
    while (up !== undefined && up !== root) up = parent.get(up);
    if (up !== root) continue;
    // Zygote-forked processes rewrite their title: the whole command line may be one string.
    const line = (await commandLine(pid).catch(() => [])).join(" ");
    if (!line.includes("--type=renderer")) continue;
    count.all++;
    if (line.includes("--top-chrome-webui")) count.webUi++;
  }
  return count;
}

const features = (args: string[]) =>
  args.filter((a) => a.startsWith("--disable-features=")).map((a) => a.slice("--disable-features=".length).split(","));

describe("Chromium launch flags", () => {
  it("keeps every feature Playwright disables and disables ours on top", async () => {
    const pool = new BrowserPool({ executablePath: "/usr/bin/chromium", warmContexts: 0 });
    try {
      await pool.getBrowser();
      const pid = (await pool.pid()) as number;
      const lists = features(await commandLine(pid));
      // Playwright's list first, ours last (the one Chromium uses).
      expect(lists.length).toBeGreaterThanOrEqual(2);
      const playwrights = lists[0] as string[];
      const used = lists.at(-1) as string[];
      expect(playwrights.filter((f) => !used.includes(f))).toEqual([]);
      expect(used).toEqual(expect.arrayContaining([...EXTRA_DISABLED_FEATURES]));
    } finally {
      await pool.close();
    }
  });

  it("a loaded page in a fresh context costs one renderer process: no spare, no WebUI address-bar popup", async () => {
    // The same page, in a fresh context of the pool's browser and of one launched with only
    // Playwright's features disabled (Chromium's spare renderer and its WebUI popups on). Renderers
    // are sampled during the settle and after it, since the popup's starts with the window.
    const loaded = async (pid: number, newContext: () => Promise<BrowserContext>) => {
      const seen: Array<{ all: number; webUi: number }> = [];
      for (let i = 0; i < 2; i++) {
        const context = await newContext();
        guardContext(context);
        const opened = openPage(context, { url: site.url("/ok"), timeoutMs: 10_000, settleMs: 500 });
        const during = renderers(pid);
        await opened;
        // Chromium starts its spare right after a navigation commits; give it the time.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const after = await renderers(pid);
        seen.push({ all: after.all, webUi: Math.max((await during).webUi, after.webUi) });
        await context.close();
        await waitFor(async () => (await renderers(pid)).all === 0, { timeoutMs: 5000, message: "renderers gone" });
      }
      return seen;
    };
    const pool = new BrowserPool({ executablePath: "/usr/bin/chromium", warmContexts: 0 });
    const marker = `--orbweaver-test=${randomUUID()}`;
    const defaults = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        ...BASE_CHROMIUM_ARGS.map((a) =>
          a.startsWith("--disable-features=") ? `--disable-features=${PLAYWRIGHT_DISABLED_FEATURES.join(",")}` : a,
        ),
        marker,
      ],
    });
    try {
      await pool.getBrowser();
      const ours = await loaded((await pool.pid()) as number, () => pool.newContext("flags"));
      const theirs = await loaded((await findBrowserPid(marker)) as number, () => defaults.newContext());
      expect(ours).toEqual([
        { all: 1, webUi: 0 },
        { all: 1, webUi: 0 },
      ]);
      // Without the flags: the page's renderer, the spare, and the popups' WebUI renderer(s).
      for (const seen of theirs) {
        expect(seen.webUi).toBeGreaterThanOrEqual(1);
        expect(seen.all).toBeGreaterThanOrEqual(3);
      }
    } finally {
      await defaults.close();
      await pool.close();
    }
  });
});
