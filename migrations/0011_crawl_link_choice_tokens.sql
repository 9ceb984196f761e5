-- Tokens the model spent choosing links (crawlInstruction) are kept apart from the page totals' share
-- that is charged: a crawl reports every token but charges only extraction (contract §12: no
-- token charge without transformInstruction or schema). Existing rows count as extraction.
ALTER TABLE "crawl_pages" ADD COLUMN "link_choice_tokens" integer DEFAULT 0 NOT NULL;