// Just enough DOM to execute the fixture pages' inline scripts in node:vm,
// so their behaviour is checked without a browser in this package.
import vm from "node:vm";

export class StubElement {
  id = "";
  className = "";
  textContent = "";
  children: StubElement[] = [];
  parent: StubElement | undefined;
  private listeners = new Map<string, Array<() => void>>();
  constructor(
    readonly tagName: string,
    private readonly registry: Map<string, StubElement>,
  ) {}
  appendChild(child: StubElement): StubElement {
    child.parent = this;
    this.children.push(child);
    if (child.id) this.registry.set(child.id, child);
    return child;
  }
  append(...children: StubElement[]): void {
    for (const c of children) this.appendChild(c);
  }
  remove(): void {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.registry.delete(this.id);
  }
  addEventListener(type: string, fn: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  click(): void {
    for (const fn of this.listeners.get("click") ?? []) fn();
  }
  text(): string {
    return [this.textContent, ...this.children.map((c) => c.text())].filter(Boolean).join(" ");
  }
}

export interface StubPage {
  byId(id: string): StubElement | undefined;
  create(tag: string): StubElement;
  location: { href: string };
  fetched: string[];
}

/** Runs every inline <script> of `html` against elements with the given ids. */
export function runInlineScripts(html: string, ids: Record<string, string>, timers = { setTimeout }): StubPage {
  const registry = new Map<string, StubElement>();
  const body = new StubElement("body", registry);
  for (const [id, tag] of Object.entries(ids)) {
    const el = new StubElement(tag, registry);
    el.id = id;
    body.appendChild(el);
  }
  const location = { href: "" };
  const fetched: string[] = [];
  const document = {
    getElementById: (id: string) => registry.get(id) ?? null,
    createElement: (tag: string) => new StubElement(tag, registry),
  };
  const fetchStub = (url: string) => {
    fetched.push(url);
    return Promise.resolve({});
  };
  const context = vm.createContext({
    document,
    location,
    fetch: fetchStub,
    setTimeout: timers.setTimeout,
  });
  for (const m of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) vm.runInContext(m[1] ?? "", context);
  return {
    byId: (id) => registry.get(id),
    create: document.createElement,
    location,
    fetched,
  };
}
