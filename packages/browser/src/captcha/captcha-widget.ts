import { randomUUID } from "node:crypto";
import type { Page, Request, Response } from "playwright-core";
import { evaluateInPage } from "../actions/evaluate-script.ts";
import { DEFAULT_SETTLE_MAX_MS, settlePage } from "../settle-page.ts";
import { findWidgetInPage, injectTokenInPage } from "./captcha-scripts.ts";
import type { CaptchaWidget, TokenDelivery } from "./captcha-types.ts";

/** The token CAPTCHA widget on the page (reCAPTCHA v2, hCaptcha, Turnstile), or null. */
export async function findCaptchaWidget(page: Page): Promise<CaptchaWidget | null> {
  return evaluateInPage(page, findWidgetInPage, { marker: randomUUID() });
}

/** Options for {@link submitCaptchaToken}. */
export interface SubmitCaptchaTokenOptions {
  widget: CaptchaWidget;
  token: string;
  /** Bound of the navigation the delivery starts (form post, reload). */
  timeoutMs: number;
  /**
   * How long to wait for the delivery to start a navigation before treating it as in-page (a
   * callback that fetches and rewrites the page). Default 2000 ms.
   */
  navigationGraceMs?: number;
  /** Extra wait for the network to go quiet afterwards. Default 2500 ms. */
  settleMs?: number;
}

/** What happened after the token was delivered. */
export interface SubmittedToken {
  delivery: TokenDelivery;
  /** Whether the main frame navigated (form post, reload, redirect). */
  navigated: boolean;
  /** HTTP status of the last main-frame document loaded after the delivery; null when none loaded. */
  status: number | null;
}

/**
 * Delivers a solved token to the widget (response fields, then the callback or the enclosing form)
 * and waits for what follows: the navigation to load when one starts, then a bounded settle.
 */
export async function submitCaptchaToken(page: Page, opts: SubmitCaptchaTokenOptions): Promise<SubmittedToken> {
  const mainFrame = page.mainFrame();
  const isMainNavigation = (request: Request) => request.isNavigationRequest() && request.frame() === mainFrame;
  let lastDocument: Response | null = null;
  const onResponse = (response: Response) => {
    if (isMainNavigation(response.request())) lastDocument = response;
  };
  page.on("response", onResponse);
  try {
    const started = page
      .waitForRequest(isMainNavigation, { timeout: opts.navigationGraceMs ?? 2000 })
      .then(() => true)
      .catch(() => false);
    const committed = page
      .waitForEvent("framenavigated", { predicate: (frame) => frame === mainFrame, timeout: opts.timeoutMs })
      .then(() => true)
      .catch(() => false);
    const delivery = await evaluateInPage(page, injectTokenInPage, {
      marker: opts.widget.marker,
      kind: opts.widget.kind,
      token: opts.token,
    });
    let navigated = false;
    if (await started) {
      navigated = await committed;
      // After the commit the load state belongs to the new document.
      if (navigated) await page.waitForLoadState("load", { timeout: opts.timeoutMs }).catch(() => undefined);
    }
    await settlePage(page, { maxMs: opts.settleMs ?? DEFAULT_SETTLE_MAX_MS });
    const status = (lastDocument as Response | null)?.status() ?? null;
    return { delivery, navigated, status };
  } finally {
    page.off("response", onResponse);
  }
}
