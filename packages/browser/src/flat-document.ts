/*
 * Web components keep their content in shadow roots, which `page.content()` (the document's
 * outerHTML) leaves out: a page built of them reads as nearly empty. readFlatDocument serialises the
 * document as it is rendered instead, the "flat tree": each open shadow root's content in place of
 * its host's children, each <slot> replaced by the nodes assigned to it (or its fallback content).
 * A closed shadow root cannot be read by any script and stays out.
 */

/**
 * In the page (through `evaluateInPage`, which tsx needs; so self-contained): the document's HTML
 * with its open shadow roots composed in (without any, as `page.content()` serialises it), or null
 * when the page broke what this uses (the caller then reads `page.content()`). Elements are made in a document of their
 * own, so no custom element's constructor runs.
 */
export function readFlatDocument(): string | null {
  try {
    const hasShadowRoot = (root: Document | ShadowRoot): boolean => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if ((node as Element).shadowRoot) return true;
      }
      return false;
    };
    if (!document.documentElement) return null;
    const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
    // No web components: the document as page.content() serialises it, in this same round trip.
    if (!hasShadowRoot(document)) return doctype + document.documentElement.outerHTML;
    const out = document.implementation.createHTMLDocument("");
    const compose = (node: Node, into: Node): void => {
      if (node.nodeType === Node.TEXT_NODE) {
        into.appendChild(out.createTextNode(node.nodeValue ?? ""));
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      const el = node as Element;
      if (el.localName === "slot" && el.getRootNode() instanceof ShadowRoot) {
        const assigned = (el as HTMLSlotElement).assignedNodes();
        for (const child of assigned.length > 0 ? assigned : Array.from(el.childNodes)) compose(child, into);
        return;
      }
      const copy = out.createElementNS(el.namespaceURI, el.localName);
      for (const attr of Array.from(el.attributes)) {
        try {
          copy.setAttributeNS(attr.namespaceURI, attr.name, attr.value);
        } catch {
          // A name this document will not take (it parsed, but is not a valid XML name): left out.
        }
      }
      into.appendChild(copy);
      // A template's content is not rendered; a host renders its shadow root, not its children.
      if (el.localName === "template") return;
      for (const child of Array.from((el.shadowRoot ?? el).childNodes)) compose(child, copy);
    };
    const root = out.createDocumentFragment();
    compose(document.documentElement, root);
    const html = (root.firstChild as Element | null)?.outerHTML;
    return typeof html === "string" ? doctype + html : null;
  } catch {
    return null;
  }
}
