import { describe, expect, it } from "vitest";
import type { RawCandidate } from "../../src/actions/collect-candidates.ts";
import type { RawGroup } from "../../src/actions/collect-groups.ts";
import { readForEachOptions } from "../../src/actions/for-each-options.ts";
import { ACCEPT_SCORE, CLEAR_MARGIN, decide, rankCandidates } from "../../src/actions/score-candidates.ts";
import { GROUP_ACCEPT, rankGroups } from "../../src/actions/score-groups.ts";
import {
  isXPath,
  looksLikeDescription,
  looksLikeSelector,
  toPlaywrightSelector,
} from "../../src/actions/selector-syntax.ts";
import { parseDescription, stem } from "../../src/actions/text-match.ts";

const candidate = (over: Partial<RawCandidate>): RawCandidate => ({
  path: "x",
  tag: "button",
  role: "button",
  name: "",
  text: "",
  labels: "",
  placeholder: "",
  title: "",
  value: "",
  attrs: "",
  context: "",
  ...over,
});

const pickFor = (description: string, candidates: RawCandidate[]): string => {
  const d = decide(rankCandidates(description, candidates), ACCEPT_SCORE, CLEAR_MARGIN);
  return d.kind === "match" ? d.pick.name : d.kind;
};

describe("parseDescription", () => {
  it.each([
    ["Accept all button", ["accept all"], "button"],
    ["the search box", ["search"], "textbox"],
    ["In stock only checkbox", ["in stock only"], "checkbox"],
    ["Next page link", ["next page"], "link"],
    ["Select a category dropdown", ["select a category", "category"], "combobox"],
    ["click the Radio button for Express", ["click the for express", "for express"], "radio"],
    ["Search bar", ["search"], "textbox"],
    ["email text field", ["email"], "textbox"],
    ["Load more", ["load more"], undefined],
    ["Accept every cookie at the bottom", ["accept every cookie at the bottom"], undefined],
  ])("%s", (text, phrases, role) => {
    const parsed = parseDescription(text);
    expect(parsed.phrases).toEqual(phrases);
    expect(parsed.roles[0]).toBe(role);
  });

  it("drops stop and position words from the content words", () => {
    expect(parseDescription("Accept every cookie at the bottom").words).toEqual(["accept", "cooki"]);
  });

  it("stems plurals on both sides", () => {
    for (const [a, b] of [
      ["stories", "story"],
      ["cookies", "cookie"],
      ["categories", "category"],
      ["boxes", "box"],
      ["members", "member"],
    ])
      expect(stem(a ?? "")).toBe(stem(b ?? ""));
    expect(stem("class")).toBe("class");
  });
});

describe("selector or description", () => {
  it.each([
    ["#accept-cookies", true],
    [".submit-btn", true],
    ["input[name='q']", true],
    ["button[type='submit']", true],
    ["article.story", true],
    ["ul > li", true],
    ["button", true],
    ["//button[text()='Go']", true],
    ["(//a)[2]", true],
    ["Accept cookies button", false],
    ["the search box", false],
    ["Search", false],
    ["Find all company listing cards", false],
    ["ul li a", true],
    ["form input", true],
    ["Next >", false],
    ["More >>", false],
    ["Принять все", false],
    ["同意する", false],
  ])("%s → selector %s", (value, selector) => {
    expect(looksLikeSelector(value)).toBe(selector);
    expect(looksLikeDescription(value)).toBe(!selector);
  });

  it("marks XPath for Playwright", () => {
    expect(isXPath("(//a)[1]")).toBe(true);
    expect(toPlaywrightSelector("(//a)[1]")).toBe("xpath=(//a)[1]");
    expect(toPlaywrightSelector("//a")).toBe("xpath=//a");
    expect(toPlaywrightSelector("xpath=//a")).toBe("xpath=//a");
    expect(toPlaywrightSelector("a.next")).toBe("a.next");
  });
});

describe("element scoring", () => {
  const banner = "Cookie consent We use cookies to improve your experience.";
  const accept = candidate({ name: "Accept all", text: "Accept all", context: banner });
  const reject = candidate({ name: "Reject", text: "Reject", context: banner });
  const searchButton = candidate({ name: "Search", text: "Search", attrs: "submit" });
  const searchInput = candidate({
    tag: "input",
    role: "searchbox",
    name: "Search",
    labels: "Search",
    placeholder: "Search products",
  });
  const navLink = candidate({ tag: "a", role: "link", name: "Search", text: "Search" });

  it("a word found only in the surroundings completes a match", () => {
    expect(pickFor("Accept cookies", [accept, reject])).toBe("Accept all");
    expect(pickFor("Accept cookies button", [accept, reject])).toBe("Accept all");
  });

  it("role words pick among equal names", () => {
    expect(pickFor("Search button", [searchButton, searchInput, navLink])).toBe("Search");
    const d = decide(
      rankCandidates("the search box", [searchButton, searchInput, navLink]),
      ACCEPT_SCORE,
      CLEAR_MARGIN,
    );
    expect(d.kind === "match" && d.pick.role).toBe("searchbox");
  });

  it("a missing word disqualifies, whatever the role bonus", () => {
    const previous = candidate({ tag: "a", role: "link", name: "Previous page", text: "Previous page" });
    expect(pickFor("Next page link", [previous])).toBe("none");
    expect(pickFor("Download brochure button", [accept, reject])).toBe("none");
  });

  it("identical candidates are ambiguous", () => {
    const view = candidate({ name: "View profile", text: "View profile" });
    expect(pickFor("View profile button", [view, { ...view, path: "y" }])).toBe("ambiguous");
  });

  it("the submit button is found by its type", () => {
    expect(pickFor("Submit button", [accept, reject, searchButton])).toBe("Search");
  });
});

describe("group scoring", () => {
  const group = (over: Partial<RawGroup>): RawGroup => ({
    selector: "x",
    count: 12,
    tag: "div",
    classes: [],
    context: "",
    texts: [],
    linkShare: 0,
    avgText: 80,
    inChrome: false,
    ...over,
  });
  const stories = group({ tag: "article", classes: ["story"], context: "story-list Latest news", linkShare: 1 });
  const menu = group({
    tag: "li",
    count: 4,
    texts: ["Home", "News", "Shop", "Search"],
    avgText: 5,
    inChrome: true,
    linkShare: 1,
  });

  it("class names and synonyms beat menus", () => {
    const [best] = rankGroups("news stories", [menu, stories], "inline");
    expect(best?.item).toBe(stories);
    expect(best?.score).toBeGreaterThanOrEqual(GROUP_ACCEPT);
  });

  it("size alone never qualifies a group", () => {
    const [best] = rankGroups("job openings", [stories, menu], "inline");
    expect(best?.score).toBeLessThan(GROUP_ACCEPT);
  });
});

describe("forEach options", () => {
  it("applies defaults and caps (D11, D12)", () => {
    expect(readForEachOptions({ type: "forEach", value: "cards" })).toEqual({
      description: "cards",
      mode: "click",
      maxItems: 50,
      waitAfterClickMs: 2500,
      actions: [],
    });
    const o = readForEachOptions({
      type: "forEach",
      observe: "stories",
      value: "ignored",
      maxItems: 500,
      pagination: { nextSelector: "a.next", maxPages: 99 },
    });
    expect([o.description, o.maxItems, o.pagination?.maxPages]).toEqual(["stories", 50, 10]);
    expect(
      readForEachOptions({ type: "forEach", selector: "li", pagination: { nextSelector: "a" } }).pagination?.maxPages,
    ).toBe(5);
  });

  it("rejects what cannot run", () => {
    expect(() => readForEachOptions({ type: "forEach" })).toThrow(/needs "observe"/);
    expect(() => readForEachOptions({ type: "forEach", value: "x", mode: "hover" })).toThrow(/"mode" must be/);
    expect(() => readForEachOptions({ type: "forEach", value: "x", pagination: {} })).toThrow(/nextSelector/);
  });
});
