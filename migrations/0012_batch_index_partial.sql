-- jobs_batch_idx holds batch items only. Every query through it names a batch (batch_id = ..., or a
-- join on it), which implies batch_id is not null, so the planner still uses it; a single scrape,
-- most of what is inserted, no longer adds an entry to it (one index insert fewer per submit).
DROP INDEX "jobs_batch_idx";--> statement-breakpoint
CREATE INDEX "jobs_batch_idx" ON "jobs" USING btree ("batch_id","status") WHERE "jobs"."batch_id" is not null;