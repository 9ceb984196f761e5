import { capturePage, findCaptchaWidget, submitCaptchaToken } from "@orbweaver/browser";
import { detectBlock } from "@orbweaver/extract";
import type { Page } from "playwright-core";
import type { WorkerContext } from "./worker-context.ts";

/** What {@link passCaptchaWall} did. */
export type CaptchaPass =
  /** No solver configured, or the page is not a CAPTCHA wall: the page is judged as it is. */
  | { state: "none" }
  /** The wall was solved and is gone; `status` is the HTTP status of the page behind it (null: no new document). */
  | { state: "solved"; status: number | null }
  /** A CAPTCHA wall the solver could not get past: the URL is blocked with this reason. */
  | { state: "failed"; reason: string };

/**
 * With a solver configured (CAPTCHA_SOLVER), a page judged a CAPTCHA wall is solved in place: the
 * widget's site key goes to the provider, the token back into the page (fields, callback or form),
 * and the page is judged again. Without one, nothing happens here and the judge reports the wall.
 */
export async function passCaptchaWall(
  ctx: WorkerContext,
  opts: { page: Page; status: number | null; deadline: number; onSolving?: (() => Promise<void>) | undefined },
): Promise<CaptchaPass> {
  const solver = ctx.captchaSolver;
  if (!solver) return { state: "none" };
  const { page } = opts;
  const wall = await captchaWall(page, opts.status);
  if (!wall) return { state: "none" };
  const blocked = (why: string): CaptchaPass => ({ state: "failed", reason: `Blocked by a CAPTCHA: ${wall}; ${why}` });
  const widget = await findCaptchaWidget(page);
  if (!widget) return blocked("no reCAPTCHA, hCaptcha or Turnstile widget with a site key to solve");
  // Leave the job time to load and read the page behind the wall.
  const solveBy = opts.deadline - ctx.config.jobs.pageTimeoutMs;
  if (solveBy <= Date.now()) return blocked("no time left in the job to solve it");
  const websiteURL = page.url();
  await opts.onSolving?.();
  const solved = await solver.solve(
    { kind: widget.kind, websiteURL, websiteKey: widget.siteKey, invisible: widget.invisible },
    { deadline: solveBy },
  );
  ctx.log.info(
    { kind: widget.kind, siteKey: widget.siteKey, url: websiteURL, solved: solved.ok, elapsedMs: solved.elapsedMs },
    "captcha solver answered",
  );
  if (!solved.ok) return blocked(`the solver failed: ${solved.reason}`);
  const submitted = await submitCaptchaToken(page, {
    widget,
    token: solved.token,
    timeoutMs: ctx.config.jobs.pageTimeoutMs,
  });
  const status = submitted.navigated ? submitted.status : null;
  const still = await captchaWall(page, status ?? opts.status);
  if (still) return blocked(`the site did not accept the solver's token (delivered by ${submitted.delivery})`);
  return { state: "solved", status };
}

/** The CAPTCHA-wall reason of the page as it is now, or null when it is not one. */
async function captchaWall(page: Page, status: number | null): Promise<string | null> {
  const captured = await capturePage(page);
  const text = await page
    .locator("body")
    .innerText({ timeout: 5000 })
    .catch(() => "");
  const verdict = detectBlock({ status, title: captured.title, html: captured.html, text, url: captured.finalUrl });
  return verdict.blocked && verdict.kind === "captcha" ? verdict.reason : null;
}
