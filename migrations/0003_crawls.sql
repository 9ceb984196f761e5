CREATE TABLE "crawl_pages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"crawl_id" uuid NOT NULL,
	"url" text NOT NULL,
	"url_key" text NOT NULL,
	"depth" integer NOT NULL,
	"order_key" integer[] NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"run_token" uuid,
	"attempts" integer DEFAULT 0 NOT NULL,
	"title" text,
	"data" jsonb,
	"html_key" text,
	"markdown_key" text,
	"error_message" text,
	"ai_extraction_failed" boolean DEFAULT false NOT NULL,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"source_page_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "crawls" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"source_job_id" uuid,
	"base_url" text NOT NULL,
	"crawl_instruction" text NOT NULL,
	"custom_instruction" boolean DEFAULT false NOT NULL,
	"transform_instruction" text,
	"output_schema" jsonb,
	"max_pages" integer NOT NULL,
	"max_depth" integer,
	"include_paths" jsonb,
	"exclude_paths" jsonb,
	"allow_subdomains" boolean DEFAULT false NOT NULL,
	"crawl_entire_domain" boolean DEFAULT false NOT NULL,
	"ignore_query_params" boolean DEFAULT false NOT NULL,
	"webhook_url" text,
	"use_proxy" boolean DEFAULT false NOT NULL,
	"proxy_country" text,
	"scrape_mode" text DEFAULT 'default' NOT NULL,
	"credits_per_page" numeric(14, 4) NOT NULL,
	"seeded_at" timestamp with time zone,
	"notes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "webhook_secret" text;--> statement-breakpoint
ALTER TABLE "crawl_pages" ADD CONSTRAINT "crawl_pages_crawl_id_crawls_id_fk" FOREIGN KEY ("crawl_id") REFERENCES "public"."crawls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "crawls" ADD CONSTRAINT "crawls_id_jobs_id_fk" FOREIGN KEY ("id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "crawls" ADD CONSTRAINT "crawls_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "crawl_pages_crawl_url_key_uq" ON "crawl_pages" USING btree ("crawl_id","url_key");--> statement-breakpoint
CREATE INDEX "crawl_pages_frontier_idx" ON "crawl_pages" USING btree ("crawl_id","status","depth");--> statement-breakpoint
CREATE INDEX "crawls_account_created_idx" ON "crawls" USING btree ("account_id","created_at");