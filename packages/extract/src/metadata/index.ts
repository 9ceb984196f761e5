// Public surface of the page-metadata module.
export { extractPageMetadata } from "./extract-page-metadata.ts";
export type { PageMetadata } from "./extract-page-metadata.ts";
