// GFM table rules. turndown-plugin-gfm's own `tables` plugin is not used
// because (a) it keeps every table without a <th> header row as raw HTML,
// which is most tables on scraped pages, (b) it crashes on an empty <table>
// (`node.rows[0]` is undefined), and (c) it lets newlines from block content
// inside cells through, which breaks the GFM row syntax.
import type TurndownService from "turndown";

interface TableInfo {
  layout: boolean;
  rows: number;
  firstRowCols: number;
  maxCols: number;
}

/** Per-conversion state; a WeakMap so the parsed DOM can be collected afterwards. */
type TableState = WeakMap<Node, TableInfo>;

function closest(node: Node | null, nodeName: string): HTMLElement | null {
  for (let cur = node; cur; cur = cur.parentNode) {
    if (cur.nodeName === nodeName) return cur as HTMLElement;
  }
  return null;
}

function tableInfo(state: TableState, table: HTMLElement): TableInfo {
  let info = state.get(table);
  if (!info) {
    // A table that contains another table is page layout (old-school sites,
    // e-mail-style pages); flattening it into one GFM table would produce a
    // single unreadable row, so its cells are rendered as ordinary blocks.
    const layout = table.getElementsByTagName("table").length > 0;
    info = { layout, rows: 0, firstRowCols: 0, maxCols: 0 };
    state.set(table, info);
  }
  return info;
}

function inDataTable(state: TableState, node: Node): boolean {
  const table = closest(node.parentNode, "TABLE");
  return table !== null && !tableInfo(state, table).layout;
}

function colspan(cell: Element): number {
  const n = Number.parseInt(cell.getAttribute("colspan") ?? "1", 10);
  // Clamp: a hostile colspan="100000" must not explode the output.
  return Number.isFinite(n) && n > 1 ? Math.min(n, 50) : 1;
}

function isCell(node: Node): node is Element {
  return node.nodeName === "TD" || node.nodeName === "TH";
}

export function tableRules(service: TurndownService): void {
  const state: TableState = new WeakMap();

  service.addRule("orbTableCell", {
    filter: (node) => isCell(node) && inDataTable(state, node),
    replacement: (content, node) => {
      const text = content
        .replace(/\s*\n\s*/g, " ")
        .trim()
        .replace(/\|/g, "\\|");
      return ` ${text} |` + " |".repeat(colspan(node) - 1);
    },
  });

  service.addRule("orbTableRow", {
    filter: (node) => node.nodeName === "TR" && inDataTable(state, node),
    replacement: (content, node) => {
      let cols = 0;
      for (const child of Array.from(node.childNodes)) if (isCell(child)) cols += colspan(child);
      if (cols === 0) return "";
      const table = closest(node.parentNode, "TABLE");
      if (table) {
        const info = tableInfo(state, table);
        if (info.rows === 0) info.firstRowCols = cols;
        info.rows++;
        info.maxCols = Math.max(info.maxCols, cols);
      }
      return `\n|${content.trim() === "" ? " |".repeat(cols) : content}`;
    },
  });

  service.addRule("orbTableSection", {
    filter: (node) => ["THEAD", "TBODY", "TFOOT"].includes(node.nodeName) && inDataTable(state, node),
    replacement: (content) => content,
  });

  service.addRule("orbTableCaption", {
    filter: (node) => node.nodeName === "CAPTION" && inDataTable(state, node),
    // Placed above the table by the table rule; here it would end up inside the rows.
    replacement: (content) => `\n${content.replace(/\s*\n\s*/g, " ").trim()}\n`,
  });

  service.addRule("orbTable", {
    filter: (node) => node.nodeName === "TABLE" && !tableInfo(state, node).layout,
    replacement: (content, node) => {
      const info = tableInfo(state, node);
      const lines = content.split("\n").filter((l) => l.trim() !== "");
      const rows = lines.filter((l) => l.startsWith("|"));
      const captions = lines.filter((l) => !l.startsWith("|"));
      const [header, ...body] = rows;
      if (header === undefined) return captions.length ? `\n\n${captions.join(" ")}\n\n` : "";
      // GFM only recognises a table whose header has as many cells as the
      // delimiter row, and drops cells beyond it, so pad the header to the
      // widest row. Pages without <th> still get their first row as header.
      const width = Math.max(info.maxCols, 1);
      const paddedHeader = header + " |".repeat(Math.max(0, width - info.firstRowCols));
      const delimiter = "|" + " --- |".repeat(width);
      const caption = captions.length ? `${captions.join(" ")}\n\n` : "";
      return `\n\n${caption}${[paddedHeader, delimiter, ...body].join("\n")}\n\n`;
    },
  });
}
