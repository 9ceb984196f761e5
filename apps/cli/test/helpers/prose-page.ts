import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
/** `count` paragraphs of plain news prose: enough text for a page to be read as an article. */
export function prose(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `<p>Paragraph ${i + 1}: the harbour council approved the new budget after a long debate about the ferry timetable, and residents had asked for more frequent crossings in winter, when the coastal road is often closed.</p>`,
  ).join("\n");
}

/** A whole HTML document with this title and body. */
export const page = (title: string, body: string): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

/** A loopback HTTP server of HTML pages for tests; `render` answers a request or leaves it to a 404 page. */
export interface PageServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `render(url, request)` as `text/html` with 200 on 127.0.0.1 (a free port); `undefined` is
 * a 404 "Not found" page.
 */
export async function servePages(
  render: (url: URL, request: IncomingMessage) => string | undefined,
): Promise<PageServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const body = render(new URL(req.url ?? "/", "http://x"), req);
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "text/html; charset=utf-8" });
    res.end(body ?? page("Not found", "<h1>Not found</h1>"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
