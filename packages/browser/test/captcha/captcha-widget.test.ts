import {
  CAPTCHA_ARTICLE_MARKER,
  CAPTCHA_SITE_KEYS,
  startCaptchaProvider,
  startCaptchaSite,
  type CaptchaProvider,
  type CaptchaSite,
  type CaptchaSiteKind,
} from "@orbweaver/testkit";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCaptchaSolver } from "../../src/captcha/captcha-solver.ts";
import { findCaptchaWidget, submitCaptchaToken } from "../../src/captcha/captcha-widget.ts";
import type { CaptchaKind } from "../../src/captcha/captcha-types.ts";

// Real Chromium against the CAPTCHA fixture site: the widget and its key are found in the page, the
// test provider solves it, and the site lets the article through only for a token the provider issued.

const BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"];
const KIND_OF: Record<CaptchaSiteKind, CaptchaKind> = {
  recaptcha: "recaptcha-v2",
  hcaptcha: "hcaptcha",
  turnstile: "turnstile",
};

let browser: Browser;
let provider: CaptchaProvider;
let site: CaptchaSite;
const pages: Page[] = [];

beforeAll(async () => {
  provider = await startCaptchaProvider({ clientKey: "widget-test-key" });
  site = await startCaptchaSite({ verify: (token) => provider.issued(token) });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: BASE_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await provider?.close();
});
afterEach(async () => {
  for (const p of pages.splice(0)) await p.close().catch(() => undefined);
});

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  await page.goto(url, { waitUntil: "load" });
  return page;
}

async function solveOn(page: Page) {
  const widget = await findCaptchaWidget(page);
  expect(widget).not.toBeNull();
  const solver = createCaptchaSolver({ baseUrl: provider.url, apiKey: "widget-test-key", pollIntervalMs: 50 });
  const solved = await solver.solve({ kind: widget!.kind, websiteURL: page.url(), websiteKey: widget!.siteKey });
  if (!solved.ok) expect.unreachable(solved.reason);
  const submitted = await submitCaptchaToken(page, { widget: widget!, token: solved.token, timeoutMs: 15_000 });
  return { widget: widget!, token: solved.token, submitted };
}

describe("findCaptchaWidget", () => {
  for (const kind of ["recaptcha", "hcaptcha", "turnstile"] as const) {
    for (const variant of ["form", "iframe"] as const) {
      it(`finds the ${kind} widget and its site key (${variant === "form" ? "element" : "iframe only"})`, async () => {
        const page = await open(site.url(kind, variant));
        const widget = await findCaptchaWidget(page);
        expect(widget).toMatchObject({
          kind: KIND_OF[kind],
          siteKey: CAPTCHA_SITE_KEYS[kind],
          source: variant === "form" ? "element" : "iframe",
          invisible: false,
          callback: null,
          inForm: true,
        });
      });
    }
  }

  it("reads data-callback, prefers a visible widget over an invisible one, and finds nothing on a plain page", async () => {
    const page = await browser.newPage();
    pages.push(page);
    await page.setContent(`<html><body>
      <form><div class="g-recaptcha" data-sitekey="invisible-key" data-size="invisible"></div></form>
      <div class="h-captcha" data-sitekey="visible-h-key" data-callback="app.onPass"></div>
    </body></html>`);
    expect(await findCaptchaWidget(page)).toMatchObject({
      kind: "hcaptcha",
      siteKey: "visible-h-key",
      callback: "app.onPass",
      inForm: false,
    });
    await page.setContent(
      `<html><body><div class="g-recaptcha" data-sitekey="only-invisible" data-size="invisible"></div></body></html>`,
    );
    expect(await findCaptchaWidget(page)).toMatchObject({ siteKey: "only-invisible", invisible: true });
    await page.setContent(
      `<html><body><h1>News</h1><div class="g-recaptcha"></div><p>No key anywhere.</p></body></html>`,
    );
    expect(await findCaptchaWidget(page)).toBeNull();
  });
});

describe("submitCaptchaToken", () => {
  it("posts the reCAPTCHA token with the form; the site verifies it and serves the article", async () => {
    const page = await open(site.url("recaptcha"));
    const before = site.submissions.length;
    const { token, submitted } = await solveOn(page);
    expect(submitted).toEqual({ delivery: "form", navigated: true, status: 200 });
    expect(await page.locator("body").innerText()).toContain(CAPTCHA_ARTICLE_MARKER);
    expect(site.submissions.slice(before)).toEqual([{ kind: "recaptcha", via: "form", token, accepted: true }]);
    expect(provider.tasks.at(-1)).toMatchObject({
      type: "RecaptchaV2TaskProxyless",
      websiteURL: site.url("recaptcha"),
      websiteKey: CAPTCHA_SITE_KEYS.recaptcha,
    });
  });

  it("fills h-captcha-response for hCaptcha rendered as an iframe only", async () => {
    const page = await open(site.url("hcaptcha", "iframe"));
    const { token, submitted } = await solveOn(page);
    expect(submitted.navigated).toBe(true);
    expect(await page.locator("body").innerText()).toContain(CAPTCHA_ARTICLE_MARKER);
    expect(site.submissions.at(-1)).toEqual({ kind: "hcaptcha", via: "form", token, accepted: true });
    expect(provider.tasks.at(-1)?.type).toBe("HCaptchaTaskProxyless");
  });

  it("hands the Turnstile token to the widget's data-callback, which unlocks the page without navigating", async () => {
    const page = await open(site.url("turnstile", "callback"));
    const { widget, token, submitted } = await solveOn(page);
    expect(widget.callback).toBe("onCaptchaPassed");
    expect(submitted).toMatchObject({ delivery: "callback", navigated: false, status: null });
    await page.waitForFunction((marker) => document.body.innerText.includes(marker), CAPTCHA_ARTICLE_MARKER, {
      timeout: 15_000,
    });
    expect(site.submissions.at(-1)).toEqual({ kind: "turnstile", via: "callback", token, accepted: true });
    expect(provider.tasks.at(-1)?.type).toBe("TurnstileTaskProxyless");
  });

  it("a token the provider never issued is refused by the site: the wall stays", async () => {
    const page = await open(site.url("recaptcha"));
    const widget = await findCaptchaWidget(page);
    const submitted = await submitCaptchaToken(page, { widget: widget!, token: "forged-token", timeoutMs: 15_000 });
    expect(submitted).toEqual({ delivery: "form", navigated: true, status: 403 });
    expect(await page.locator("body").innerText()).toContain("The security check failed");
    expect(site.submissions.at(-1)).toEqual({ kind: "recaptcha", via: "form", token: "forged-token", accepted: false });
  });
});
