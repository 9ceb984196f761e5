ALTER TABLE "accounts" ADD COLUMN "rate_limit_max" integer;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "max_pending_scrape_jobs" integer;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "max_pending_batches" integer;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "max_pending_crawls" integer;