/** The token CAPTCHAs a solver provider can answer. */
export type CaptchaKind = "recaptcha-v2" | "hcaptcha" | "turnstile";

/** A CAPTCHA widget found on a page. */
export interface CaptchaWidget {
  kind: CaptchaKind;
  /** The site's public key (`data-sitekey`, or the iframe's `k=`/`sitekey=` parameter). */
  siteKey: string;
  /** Where the key was read: the widget element or a widget iframe. */
  source: "element" | "iframe";
  /** reCAPTCHA `data-size="invisible"` (the provider needs to know). */
  invisible: boolean;
  /** Name of the page function the widget calls with the token (`data-callback`), if any. */
  callback: string | null;
  /** Whether the widget sits inside a form that can be submitted. */
  inForm: boolean;
  /** Value of the `data-orbweaver-captcha` attribute the scan put on the widget's element. */
  marker: string;
}

/** What {@link submitCaptchaToken} did with the token. */
export type TokenDelivery = "callback" | "form" | "fields-only";
