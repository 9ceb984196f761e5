// Public surface of the HTML → Markdown module.
export { convertHtmlToMarkdown } from "./html-to-markdown.ts";
export type { HtmlToMarkdownOptions, MarkdownResult } from "./html-to-markdown.ts";
export {
  createMarkdownConverter,
  MarkdownConverterClosedError,
  MarkdownMemoryError,
  MarkdownTimeoutError,
} from "./markdown-pool.ts";
export type { MarkdownConverter, MarkdownConverterOptions } from "./markdown-pool.ts";
