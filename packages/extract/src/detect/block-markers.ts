/*
 * Marker tables for detect-block.ts. Vendor markers are strong but not
 * sufficient on their own: Cloudflare, Akamai and friends inject scripts into
 * ordinary pages too, so a marker only counts together with a thin page or a
 * refusing status (see detectBlock).
 */

export interface Marker {
  re: RegExp;
  /** Human-readable name used in the reason. */
  name: string;
}

/** Titles of interstitials; specific enough to count with moderate content. */
export const CHALLENGE_TITLES: Marker[] = [
  { re: /^just a moment\b/i, name: 'Cloudflare "Just a moment..."' },
  { re: /^attention required!? \| cloudflare/i, name: "Cloudflare block page" },
  { re: /^checking your browser\b/i, name: '"Checking your browser"' },
  { re: /^pardon our interruption\b/i, name: '"Pardon Our Interruption" (Imperva/Distil)' },
  { re: /^(?:are you a (?:robot|human)\??|robot or human\??)$/i, name: '"Are you a robot?"' },
  { re: /^access to this page has been denied\b/i, name: "PerimeterX / HUMAN block" },
  { re: /^ddos-guard\b/i, name: "DDoS-Guard" },
  { re: /^one more step\b/i, name: 'Cloudflare "One more step"' },
  {
    re: /^(?:please wait|verifying(?: you are human)?)\s*(?:\.{3}|…)?\s*(?:\|.*cloudflare)?$/i,
    name: "interstitial wait page",
  },
  { re: /\bused cloudflare to restrict access\b/i, name: "Cloudflare access rule" },
];

/** HTML markers of bot-protection challenge or block pages (not of the scripts injected into normal pages). */
export const CHALLENGE_HTML: Marker[] = [
  { re: /\b_cf_chl_opt\b|\bcf-chl-|\bcf_chl_|__cf_chl_/i, name: "Cloudflare challenge (cf-chl)" },
  { re: /\/cdn-cgi\/challenge-platform\/h\/[a-z]\/(?:orchestrate|cmg|jsch)\//i, name: "Cloudflare challenge-platform" },
  { re: /captcha-delivery\.com|\bdd\s*=\s*\{\s*['"]rt['"]/i, name: "DataDome" },
  { re: /\b_pxCaptcha\b|\bpx-captcha\b|\b_pxAppId\b.*\bblock/is, name: "PerimeterX" },
  { re: /_Incapsula_Resource|\bIncapsula incident ID\b/i, name: "Imperva Incapsula" },
  { re: /errors\.edgesuite\.net|\bReference\s*#\s*\d+\.[0-9a-f]+\.\d+/i, name: "Akamai" },
  { re: /\bKPSDK\b|\/ips\.js\?.*\bx-kpsdk/i, name: "Kasada" },
  { re: /\bawsWafCookieDomainList\b|\bgokuProps\b|\.token\.awswaf\.com/i, name: "AWS WAF" },
  { re: /\bsucuri_cloudproxy_js\b|Sucuri WebSite Firewall/i, name: "Sucuri" },
  { re: /\bddos-guard\b.*\bcheck\b|__ddg1_/is, name: "DDoS-Guard" },
];

/** Visible-text phrases of challenges. */
export const CHALLENGE_TEXT: Marker[] = [
  { re: /\bchecking (?:your|if the site connection is) (?:browser|secure)\b/i, name: '"Checking your browser"' },
  { re: /\bneeds to review the security of your connection\b/i, name: "Cloudflare security review" },
  { re: /\benable javascript and cookies to continue\b/i, name: '"Enable JavaScript and cookies to continue"' },
  { re: /\bpardon our interruption\b/i, name: '"Pardon Our Interruption"' },
  { re: /\bsorry, you have been blocked\b/i, name: 'Cloudflare "you have been blocked"' },
  { re: /\bare you a (?:robot|human)\b/i, name: '"Are you a robot?"' },
  { re: /\bpress (?:&|and) hold\b/i, name: 'PerimeterX "Press & Hold"' },
  { re: /\bunusual (?:traffic|activity) from your (?:computer )?network\b/i, name: '"Unusual traffic"' },
  { re: /\baccess to this page has been denied\b/i, name: "PerimeterX / HUMAN block" },
  { re: /\bplease (?:turn on|enable) javascript and (?:cookies|refresh the page)\b/i, name: "JavaScript check" },
];

/** CAPTCHA widgets (markup) — present on walls and, harmlessly, on comment and newsletter forms. */
export const CAPTCHA_WIDGETS: Marker[] = [
  {
    re: /\bclass\s*=\s*["'][^"']*\bg-recaptcha\b|google\.com\/recaptcha\/|recaptcha\.net\/recaptcha/i,
    name: "reCAPTCHA",
  },
  { re: /\bclass\s*=\s*["'][^"']*\bh-captcha\b|hcaptcha\.com\/1\/api\.js/i, name: "hCaptcha" },
  {
    re: /\bclass\s*=\s*["'][^"']*\bcf-turnstile\b|challenges\.cloudflare\.com\/turnstile/i,
    name: "Cloudflare Turnstile",
  },
  { re: /\bclass\s*=\s*["'][^"']*\bfrc-captcha\b/i, name: "Friendly Captcha" },
  { re: /\bgeetest_|\bstatic\.geetest\.com\b/i, name: "GeeTest" },
  { re: /\bfuncaptcha\b|client-api\.arkoselabs\.com/i, name: "Arkose FunCaptcha" },
];

/** Widget elements by class, to tell visible widgets from invisible ones. */
export const WIDGET_ELEMENT =
  /<[a-z][^>]*\bclass\s*=\s*["'][^"']*\b(?:g-recaptcha|h-captcha|cf-turnstile|frc-captcha)\b[^>]*>/gi;
/** Invisible / interaction-only widgets never form a wall (they sit on ordinary forms). */
export const INVISIBLE_WIDGET = /\bdata-size\s*=\s*["']?invisible\b|\bdata-appearance\s*=\s*["']?interaction-only\b/i;
/** reCAPTCHA v3 (score only, no widget) is loaded with ?render=<site key>. */
export const RECAPTCHA_V3 = /recaptcha\/api\.js\?[^"'>]*\brender=(?!explicit\b)/i;

/** Visible-text phrases of CAPTCHA walls. */
export const CAPTCHA_TEXT: Marker[] = [
  { re: /\bverify (?:that )?you(?:'re| are) (?:a )?human\b/i, name: '"Verify you are human"' },
  { re: /\bprove (?:that )?you(?:'re| are) (?:not a robot|human)\b/i, name: '"Prove you are human"' },
  { re: /\bi(?:'m| am) not a robot\b/i, name: '"I\'m not a robot"' },
  { re: /\b(?:complete|solve) the (?:security check|captcha|challenge)\b/i, name: '"Complete the security check"' },
  { re: /\b(?:type|enter) the (?:characters|text) (?:you see|shown)\b/i, name: "text CAPTCHA" },
];

// What a wall keeps you from; "log in to comment/post/reply" boxes on real pages must not match.
const WALL_VERB = String.raw`(?:continue|view|see|read|access|proceed|keep reading|watch|download|open)\b`;

/** Phrases of login walls. */
export const LOGIN_TEXT: Marker[] = [
  {
    re: new RegExp(
      String.raw`\b(?:sign|log) ?in (?:or (?:sign up|register|create an account|join) )?to ${WALL_VERB}`,
      "i",
    ),
    name: "sign in to continue",
  },
  {
    re: new RegExp(
      String.raw`\byou (?:must|need to|have to) (?:be )?(?:logged|signed) in(?: to ${WALL_VERB}|(?! to))`,
      "i",
    ),
    name: "you must be logged in",
  },
  {
    re: new RegExp(String.raw`\byou need (?:an account|to (?:sign|log) ?in) to ${WALL_VERB}`, "i"),
    name: "you need an account",
  },
  {
    re: /\bthis (?:content|page) is (?:only )?(?:available|visible) to (?:logged-in users|members)\b/i,
    name: "members only",
  },
];

export const PASSWORD_INPUT = /<input\b[^>]*\btype\s*=\s*["']?password\b/i;
/** Paths of login pages a redirect may have landed on. */
export const LOGIN_PATH = /\/(?:log-?in|sign-?in|auth(?:enticate)?|sso|accounts?\/(?:login|signin))(?:[/?#.]|$)/i;

/** Titles of error pages served with 200 ("soft" errors). */
export const ERROR_TITLE =
  /^(?:error\s*)?(?:4\d\d|5\d\d)\b|\b(?:page |file )?not found\b|^access denied\b|^forbidden\b|\binternal server error\b|\bservice (?:temporarily )?unavailable\b|\bbad gateway\b|\btoo many requests\b|\bpage (?:does not|doesn't) exist\b/i;

export interface MarkerHit {
  name: string;
  /** The matched text, trimmed for use in a reason. */
  text: string;
}

export function firstMatch(markers: Marker[], s: string): MarkerHit | undefined {
  for (const m of markers) {
    const hit = m.re.exec(s);
    if (hit) return { name: m.name, text: hit[0].slice(0, 60) };
  }
  return undefined;
}

/** What a script shows before (or instead of) its content: a loading line, a "JavaScript required" notice. */
const PLACEHOLDER_PHRASES =
  /\b(?:loading|please wait|one moment|just a second|redirecting|initiali[sz]ing|cargando|chargement|carregando|caricamento|wird geladen|(?:enable|requires?|needs?|turn on)\s+javascript|javascript\s+(?:is\s+)?(?:required|disabled|needed|off))\b|読み込み中|加载中|載入中|로딩/giu;
/** Words such a line wraps its phrase in ("Please wait while we load your data", "You need to enable JavaScript to run this app"). */
const PLACEHOLDER_FILLER =
  /\b(?:a|an|the|this|that|it|is|are|be|you|your|we|our|us|please|to|in|of|for|on|and|or|while|until|app|application|site|website|page|content|data|view|use|run|see|need|needs|must|continue|order|browser|moment|second|wait|now|just|still|few|bitte|de|la|le|les|du|des|el|los|das|der|die|en|un|une|por|favor)\b/giu;

/**
 * The whole text of a page that shows only what its script put there before rendering the content
 * (or instead of it): a spinner's dots, or a loading line or "JavaScript required" notice with at
 * most one word of its own ("Loading…", "Loading dashboard…", "Please wait while we load your
 * data"). A short page that merely holds such a word ("Loading dock tours", "Book a loading dock
 * tour") is a page.
 */
export function isPlaceholderText(plain: string): boolean {
  if (!/[\p{L}\p{N}]/u.test(plain)) return true;
  const rest = plain.replace(PLACEHOLDER_PHRASES, " ");
  if (rest === plain) return false;
  const words = rest
    .replace(PLACEHOLDER_FILLER, " ")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  return words.length <= 1;
}

/**
 * The whole text of a short page that is an error or a refusal served with a success status
 * ("Forbidden", "Not Found", "Rate limit exceeded", a bare "404"), checked on pages too short to be
 * anything else.
 */
export const SHORT_ERROR_TEXT =
  /^\d{3}\b|\b(?:forbidden|access denied|not found|blocked|rate limit(?:ed)?|too many requests|unavailable|bad gateway|gateway time-?out|server error|bad request|unauthori[sz]ed|went wrong|an error occurred|error|enable cookies|being redirected)\b/i;
