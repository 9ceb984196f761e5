// In-page scripts for CAPTCHA widgets. They run in the browser through evaluateInPage, so they are
// self-contained: no imports at run time (types only), helpers defined inside.
import type { CaptchaKind, CaptchaWidget, TokenDelivery } from "./captcha-types.ts";

/**
 * Finds the first token CAPTCHA on the page: widget elements with `data-sitekey` first (reCAPTCHA,
 * hCaptcha, Turnstile), then the widgets' iframes (`k=` / `sitekey=` parameters, Turnstile's key in
 * the path) for widgets rendered from script. Visible widgets win over invisible ones. The chosen
 * element gets `data-orbweaver-captcha` so the token can be delivered to the same widget.
 */
export function findWidgetInPage(arg: { marker: string }): CaptchaWidget | null {
  type Found = Omit<CaptchaWidget, "marker" | "inForm"> & { el: Element };
  const found: Found[] = [];
  const byClass: Array<[CaptchaKind, string]> = [
    ["recaptcha-v2", ".g-recaptcha[data-sitekey]"],
    ["hcaptcha", ".h-captcha[data-sitekey]"],
    ["turnstile", ".cf-turnstile[data-sitekey]"],
  ];
  for (const [kind, selector] of byClass) {
    for (const el of Array.from(document.querySelectorAll(selector))) {
      const siteKey = (el.getAttribute("data-sitekey") ?? "").trim();
      if (!siteKey) continue;
      found.push({
        kind,
        siteKey,
        source: "element",
        invisible: /^invisible$/i.test(el.getAttribute("data-size") ?? ""),
        callback: el.getAttribute("data-callback")?.trim() || null,
        el,
      });
    }
  }
  for (const frame of Array.from(document.querySelectorAll("iframe[src]"))) {
    let src: URL;
    try {
      src = new URL((frame as HTMLIFrameElement).src, location.href);
    } catch {
      continue;
    }
    const host = src.hostname.toLowerCase();
    const fragment = new URLSearchParams(src.hash.replace(/^#/, ""));
    const holder = frame.closest("[data-callback]");
    const callback = holder?.getAttribute("data-callback")?.trim() || null;
    if (/\/recaptcha\/api2\/anchor\b/.test(src.pathname) && src.searchParams.get("k")) {
      found.push({
        kind: "recaptcha-v2",
        siteKey: src.searchParams.get("k") ?? "",
        source: "iframe",
        invisible: src.searchParams.get("size") === "invisible",
        callback,
        el: frame,
      });
    } else if (/(^|\.)hcaptcha\.com$/.test(host) || /hcaptcha/.test(src.pathname)) {
      const siteKey = src.searchParams.get("sitekey") ?? fragment.get("sitekey");
      if (siteKey) {
        found.push({
          kind: "hcaptcha",
          siteKey,
          source: "iframe",
          invisible: (src.searchParams.get("size") ?? fragment.get("size")) === "invisible",
          callback,
          el: frame,
        });
      }
    } else if (/\/turnstile\//.test(src.pathname) || host === "challenges.cloudflare.com") {
      const siteKey =
        src.searchParams.get("sitekey") ??
        src.pathname.split("/").find((segment) => /^[0-3]x[0-9A-Za-z_-]{16,}$/.test(segment));
      if (siteKey) {
        found.push({ kind: "turnstile", siteKey, source: "iframe", invisible: false, callback, el: frame });
      }
    }
  }
  const pick = found.find((f) => !f.invisible) ?? found[0];
  if (!pick) return null;
  pick.el.setAttribute("data-orbweaver-captcha", arg.marker);
  return {
    kind: pick.kind,
    siteKey: pick.siteKey,
    source: pick.source,
    invisible: pick.invisible,
    callback: pick.callback,
    inForm: pick.el.closest("form") !== null,
    marker: arg.marker,
  };
}

/**
 * Puts the token where the widget would: the response fields the site's form posts
 * (`g-recaptcha-response`, `h-captcha-response` (hCaptcha fills both), `cf-turnstile-response`),
 * created hidden inside the widget when the provider's script did not create them. Then hands the
 * token to the widget's callback (`data-callback`, or the callback reCAPTCHA registered from
 * script), else submits the enclosing form. Both happen after this script returns, so a
 * navigation does not destroy the evaluation.
 */
export function injectTokenInPage(arg: { marker: string; kind: CaptchaKind; token: string }): TokenDelivery {
  const el = document.querySelector(`[data-orbweaver-captcha="${CSS.escape(arg.marker)}"]`);
  const names =
    arg.kind === "recaptcha-v2"
      ? ["g-recaptcha-response"]
      : arg.kind === "hcaptcha"
        ? ["h-captcha-response", "g-recaptcha-response"]
        : ["cf-turnstile-response"];
  const form = el?.closest("form") ?? null;
  names.forEach((name, i) => {
    const fields = Array.from(
      document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>(
        `textarea[name="${name}"], input[name="${name}"]`,
      ),
    );
    if (fields.length === 0 && i === 0) {
      const field = document.createElement("textarea");
      field.name = name;
      if (!document.getElementById(name)) field.id = name;
      field.style.display = "none";
      const home = el && el.tagName !== "IFRAME" ? el : (el?.parentElement ?? form ?? document.body);
      home.appendChild(field);
      fields.push(field);
    }
    for (const field of fields) {
      field.value = arg.token;
      if (field instanceof HTMLTextAreaElement) field.textContent = arg.token;
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  const lookup = (path: string): unknown =>
    path
      .split(".")
      .reduce<unknown>(
        (obj, key) => (obj !== null && obj !== undefined ? (obj as Record<string, unknown>)[key] : undefined),
        window,
      );
  // grecaptcha.render(el, { callback }) keeps the callback in ___grecaptcha_cfg.clients, a few levels deep.
  const registeredCallback = (): unknown => {
    const clients = lookup("___grecaptcha_cfg.clients");
    const seen = new Set<unknown>();
    const walk = (node: unknown, depth: number): unknown => {
      if (node === null || typeof node !== "object" || depth > 5 || seen.has(node)) return undefined;
      seen.add(node);
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        if (key === "callback" && (typeof value === "function" || typeof value === "string")) return value;
        const inner = walk(value, depth + 1);
        if (inner !== undefined) return inner;
      }
      return undefined;
    };
    return walk(clients, 0);
  };
  const named = el?.getAttribute("data-callback") ?? el?.closest("[data-callback]")?.getAttribute("data-callback");
  let callback: unknown = named ? lookup(named.trim()) : undefined;
  if (typeof callback !== "function" && arg.kind === "recaptcha-v2") {
    const registered = registeredCallback();
    callback = typeof registered === "string" ? lookup(registered) : registered;
  }
  if (typeof callback === "function") {
    const fn = callback as (token: string) => unknown;
    setTimeout(() => fn(arg.token), 0);
    return "callback";
  }
  if (form) {
    const submitter = form.querySelector<HTMLElement>(
      'button[type="submit"], input[type="submit"], button:not([type])',
    );
    setTimeout(() => {
      try {
        form.requestSubmit(submitter ?? undefined);
      } catch {
        form.submit();
      }
    }, 0);
    return "form";
  }
  return "fields-only";
}
