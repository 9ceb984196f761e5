import { describe, expect, it } from "vitest";
import { TEAM } from "../../../testkit/src/fixture/interactive-pages.ts";
import { ActionError, runActions, type ElementChooser } from "../../src/actions/index.ts";
import { ctx } from "./action-fixtures.ts";
import { useActionEnv } from "./use-action-env.ts";

const env = useActionEnv();

/** A scripted element chooser that records its calls. */
function scripted(answer: unknown): ElementChooser & { calls: Array<[string, string[]]> } {
  const calls: Array<[string, string[]]> = [];
  const fn = async (description: string, candidates: string[]): Promise<number | null> => {
    calls.push([description, candidates]);
    if (answer instanceof Error) throw answer;
    return answer as number | null;
  };
  return Object.assign(fn, { calls });
}

const modalName = (page: import("playwright-core").Page): Promise<string> =>
  page
    .locator("#profile-modal:visible #profile-name")
    .textContent()
    .then((t) => t ?? "");

describe("resolveTarget through runActions", () => {
  it("an ambiguous description is settled by the element chooser, which sees the candidates", async () => {
    const page = await env.open("/team");
    const chooser = scripted(2);
    const result = await runActions(
      page,
      [{ type: "click", value: "View profile button" }],
      ctx({ chooseElement: chooser }),
    );
    expect(chooser.calls).toHaveLength(1);
    const [description, candidates] = chooser.calls[0] ?? ["", []];
    expect(description).toBe("View profile button");
    expect(candidates.length).toBeGreaterThanOrEqual(TEAM.length);
    // The tied buttons come first, each described with its role, name and surroundings.
    for (const line of candidates.slice(0, TEAM.length)) expect(line).toMatch(/^button "View profile"/);
    expect(await modalName(page)).toBe(TEAM[2]?.name);
    expect(result.log[0]).toContain("chooser picked #2");
  });

  it("an ambiguous description without a chooser fails and says why", async () => {
    const page = await env.open("/team");
    const err = await runActions(page, [{ type: "click", value: "View profile button" }], ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toMatch(/^Action 0 \(click\): "View profile button" matches 5 elements equally well/);
  });

  it.each([
    [99, /the element chooser answered 99, not a candidate number from 0 to \d+/],
    [-1, /the element chooser answered -1/],
    [1.5, /the element chooser answered 1.5/],
    ["2", /the element chooser answered "2"/],
    [null, /the element chooser found none of \d+ candidates suitable/],
    [new Error("model unavailable"), /the element chooser failed: model unavailable/],
  ])("a chooser answering %s fails the action cleanly", async (answer, detail) => {
    const page = await env.open("/team");
    const chooser = scripted(answer);
    const err = await runActions(
      page,
      [
        { type: "wait", duration: 1 },
        { type: "click", value: "View profile button" },
      ],
      ctx({ chooseElement: chooser }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ index: 1, type: "click" });
    expect(err.message).toMatch(/^Action 1 \(click\): no element matches "View profile button" \(/);
    expect(err.message).toMatch(detail);
    expect(err.log[0]).toMatch(/^#0 wait/);
    expect(await page.locator("#profile-modal").isHidden()).toBe(true);
  });

  it("a chooser that never answers is cut off", async () => {
    const page = await env.open("/team");
    const chooser: ElementChooser = () => new Promise(() => undefined);
    const started = Date.now();
    const err = await runActions(
      page,
      [{ type: "click", value: "View profile button" }],
      ctx({ actionTimeoutMs: 300, chooseElement: chooser }),
    ).catch((e) => e);
    expect(err.message).toMatch(/the element chooser failed: no answer within 900 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a description matching nothing fails with the action index (no chooser)", async () => {
    const page = await env.open("/form");
    const err = await runActions(
      page,
      [
        { type: "click", value: "Accept all button" },
        { type: "wait", duration: 1 },
        { type: "click", value: "Download brochure button" },
      ],
      ctx(),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ index: 2, type: "click" });
    expect(err.message).toMatch(/^Action 2 \(click\): no element matches "Download brochure button"/);
  });

  it("a description matching nothing is offered to the chooser, whose pick is used", async () => {
    const page = await env.open("/form");
    const chooser = scripted(null);
    // First learn the shortlist, then answer with the index of the cookie button.
    await runActions(
      page,
      [{ type: "click", value: "the thing that makes the popup go away" }],
      ctx({ chooseElement: chooser }),
    ).catch(() => undefined);
    const list = chooser.calls[0]?.[1] ?? [];
    const accept = list.findIndex((l) => l.startsWith('button "Accept all"'));
    expect(accept).toBeGreaterThanOrEqual(0);
    await runActions(
      page,
      [{ type: "click", value: "the thing that makes the popup go away" }],
      ctx({ chooseElement: scripted(accept) }),
    );
    expect(await page.locator("#cookie-banner").count()).toBe(0);
  });

  it("a selector that matches nothing fails after the action timeout", async () => {
    const page = await env.open("/form");
    const err = await runActions(
      page,
      [{ type: "click", selector: "#does-not-exist" }],
      ctx({ actionTimeoutMs: 300 }),
    ).catch((e) => e);
    expect(err.message).toBe('Action 0 (click): nothing matches selector "#does-not-exist" (waited 300 ms)');
  });

  it("an invalid selector is reported as such", async () => {
    const page = await env.open("/form");
    const err = await runActions(page, [{ type: "click", selector: "button[[" }], ctx()).catch((e) => e);
    expect(err.message).toMatch(/^Action 0 \(click\): invalid selector "button\[\[":/);
  });

  it("value holding a CSS selector is used as one", async () => {
    const page = await env.open("/form");
    await runActions(page, [{ type: "click", value: "#reject-cookies" }], ctx());
    expect(await page.locator("#cookie-banner").count()).toBe(0);
  });

  it("descriptions work inside iframes (consent managers)", async () => {
    const page = await env.open("/");
    await page.setContent(
      `<h1>Host</h1><iframe style="width:400px;height:200px" srcdoc="<div role='dialog' aria-label='Privacy'><p>We value your privacy</p><button onclick=&quot;this.textContent='done'&quot;>I agree</button></div>"></iframe>`,
    );
    await page.frameLocator("iframe").locator("button").waitFor();
    await runActions(page, [{ type: "click", value: "I agree button" }], ctx());
    expect(await page.frameLocator("iframe").locator("button").textContent()).toBe("done");
  });
});
