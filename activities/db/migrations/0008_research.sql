CREATE TABLE "artifact_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"artifact_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"markdown" text NOT NULL,
	"citations" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "artifacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"workflow_id" text NOT NULL,
	"title" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "research_findings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" text NOT NULL,
	"source_id" uuid NOT NULL,
	"claim" text NOT NULL,
	"quote" text NOT NULL,
	"quote_hash" text NOT NULL,
	"span_start" integer NOT NULL,
	"span_end" integer NOT NULL,
	"relevance" real NOT NULL,
	"iteration" integer NOT NULL,
	"evidence_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "research_sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" text NOT NULL,
	"case_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"title" text,
	"url" text,
	"query" text NOT NULL,
	"text" text NOT NULL,
	"iteration" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "research_steps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" text NOT NULL,
	"phase" text NOT NULL,
	"iteration" integer NOT NULL,
	"input" jsonb NOT NULL,
	"output" jsonb NOT NULL,
	"source_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"tokens" integer DEFAULT 0 NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"domain" text NOT NULL,
	"name" text NOT NULL,
	"instructions" text NOT NULL,
	"query_hints" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "artifact_versions" ADD CONSTRAINT "artifact_versions_artifact_id_artifacts_id_fk" FOREIGN KEY ("artifact_id") REFERENCES "public"."artifacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "research_findings" ADD CONSTRAINT "research_findings_source_id_research_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."research_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "research_sources" ADD CONSTRAINT "research_sources_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "artifact_versions_artifact_version_key" ON "artifact_versions" USING btree ("artifact_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "artifacts_workflow_key" ON "artifacts" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "artifacts_case_created_idx" ON "artifacts" USING btree ("case_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "research_findings_run_quote_key" ON "research_findings" USING btree ("workflow_id","source_id","quote_hash");--> statement-breakpoint
CREATE INDEX "research_findings_source_idx" ON "research_findings" USING btree ("source_id");--> statement-breakpoint
CREATE UNIQUE INDEX "research_sources_run_ref_key" ON "research_sources" USING btree ("workflow_id","kind","ref");--> statement-breakpoint
CREATE INDEX "research_sources_case_idx" ON "research_sources" USING btree ("case_id");--> statement-breakpoint
CREATE UNIQUE INDEX "research_steps_run_phase_iteration_key" ON "research_steps" USING btree ("workflow_id","phase","iteration");--> statement-breakpoint
CREATE UNIQUE INDEX "skills_domain_name_key" ON "skills" USING btree ("domain","name");--> statement-breakpoint
-- Hand-written (issue 19), not generated: the seeded skills, one row per (domain, name).
-- Carried over as is if this migration is renumbered. ON CONFLICT keeps an operator's edits.
-- A research plan on a case whose `domain` matches reads these instructions and hints.
-- ---------------------------------------------------------------------------------------
INSERT INTO "skills" ("domain", "name", "instructions", "query_hints") VALUES
  ('business', 'market-evidence', 'Prefer figures with a date and a source: market size, prices, rents, costs, demand. Separate what was measured from what was estimated.', '["costs", "prices", "demand"]'::jsonb),
  ('legal', 'authority-first', 'Look for the governing rule, its date and its exceptions; a claim without an authority is an open question, not a finding.', '["regulation", "requirement", "exception"]'::jsonb),
  ('health', 'study-quality', 'Prefer trials and reviews over anecdotes; note sample sizes, dates and whether a result was replicated.', '["study", "risk", "outcome"]'::jsonb),
  ('technology', 'constraints-and-tradeoffs', 'Look for limits, measured performance, costs and failure modes; note versions and dates.', '["performance", "limits", "cost"]'::jsonb)
ON CONFLICT ("domain", "name") DO NOTHING;
