/** Country codes accepted for `proxyCountry` and in the proxy pool setting. */

// ISO 3166-1 alpha-2, the 249 officially assigned codes, lowercase as the API spells them.
const ISO_3166_ALPHA2 =
  "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by bz " +
  "ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et fi fj fk fm fo fr " +
  "ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp " +
  "ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms " +
  "mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs " +
  "ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw " +
  "tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw";

/** All ISO 3166-1 alpha-2 codes, lowercase. */
export const ISO_COUNTRY_CODES: ReadonlySet<string> = new Set(ISO_3166_ALPHA2.split(" "));

/**
 * The 27 EU member states (since 2020), ISO codes: Greece is `gr` (the EU's
 * own abbreviation `el` is not ISO). `proxyCountry: "eu"` picks among these.
 */
export const EU_COUNTRY_CODES: readonly string[] = Object.freeze([
  "at",
  "be",
  "bg",
  "hr",
  "cy",
  "cz",
  "dk",
  "ee",
  "fi",
  "fr",
  "de",
  "gr",
  "hu",
  "ie",
  "it",
  "lv",
  "lt",
  "lu",
  "mt",
  "nl",
  "pl",
  "pt",
  "ro",
  "sk",
  "si",
  "es",
  "se",
]);

/** Region selectors that are not countries: `eu` (any EU state) and `global` (any proxy). */
export const PROXY_REGIONS: readonly string[] = Object.freeze(["eu", "global"]);

/**
 * True for a lowercase ISO 3166-1 alpha-2 code, `eu` or `global`. Case
 * sensitive on purpose: the API documents lowercase; callers that want to be
 * lenient lowercase first.
 */
export function isKnownCountryCode(code: string): boolean {
  return ISO_COUNTRY_CODES.has(code) || PROXY_REGIONS.includes(code);
}
