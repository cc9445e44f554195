CREATE TABLE "contradictions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"left_kind" text NOT NULL,
	"left_id" uuid NOT NULL,
	"right_kind" text NOT NULL,
	"right_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"score" real NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "evidence" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"text" text NOT NULL,
	"content_hash" text NOT NULL,
	"source" text DEFAULT 'manual' NOT NULL,
	"source_url" text,
	"source_title" text,
	"document_id" uuid,
	"relevance" real,
	"credibility" real,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"embedding" real[],
	"tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', "text")) STORED,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "evidence_signal_links" (
	"evidence_id" uuid NOT NULL,
	"signal_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"relation" text NOT NULL,
	"reasoning" text NOT NULL,
	"score" real NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "evidence_signal_links_evidence_id_signal_id_pk" PRIMARY KEY("evidence_id","signal_id")
);
--> statement-breakpoint
CREATE TABLE "brief_annotations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"source" text NOT NULL,
	"kind" text NOT NULL,
	"cause_key" text NOT NULL,
	"section_key" text NOT NULL,
	"subject_kind" text,
	"subject_id" uuid,
	"message" text NOT NULL,
	"created_in_version" integer NOT NULL,
	"resolved_in_version" integer,
	"resolved_by" text,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "briefs" (
	"case_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"sections" jsonb NOT NULL,
	"grounding" real NOT NULL,
	"evolution_key" text NOT NULL,
	"changes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "briefs_case_id_version_pk" PRIMARY KEY("case_id","version")
);
--> statement-breakpoint
ALTER TABLE "signals" ADD COLUMN "tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', "text")) STORED;--> statement-breakpoint
ALTER TABLE "contradictions" ADD CONSTRAINT "contradictions_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_signal_links" ADD CONSTRAINT "evidence_signal_links_evidence_id_evidence_id_fk" FOREIGN KEY ("evidence_id") REFERENCES "public"."evidence"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_signal_links" ADD CONSTRAINT "evidence_signal_links_signal_id_signals_id_fk" FOREIGN KEY ("signal_id") REFERENCES "public"."signals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_signal_links" ADD CONSTRAINT "evidence_signal_links_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "brief_annotations" ADD CONSTRAINT "brief_annotations_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "briefs" ADD CONSTRAINT "briefs_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "contradictions_pair_key" ON "contradictions" USING btree ("case_id","left_kind","left_id","right_kind","right_id");--> statement-breakpoint
CREATE INDEX "contradictions_left_idx" ON "contradictions" USING btree ("left_id");--> statement-breakpoint
CREATE INDEX "contradictions_right_idx" ON "contradictions" USING btree ("right_id");--> statement-breakpoint
CREATE UNIQUE INDEX "evidence_case_hash_key" ON "evidence" USING btree ("case_id","content_hash");--> statement-breakpoint
CREATE INDEX "evidence_case_created_idx" ON "evidence" USING btree ("case_id","created_at");--> statement-breakpoint
CREATE INDEX "evidence_tsv_idx" ON "evidence" USING gin ("tsv");--> statement-breakpoint
CREATE INDEX "evidence_pending_idx" ON "evidence" USING btree ("created_at") WHERE "evidence"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "evidence_signal_links_signal_idx" ON "evidence_signal_links" USING btree ("signal_id");--> statement-breakpoint
CREATE INDEX "evidence_signal_links_case_idx" ON "evidence_signal_links" USING btree ("case_id");--> statement-breakpoint
CREATE UNIQUE INDEX "brief_annotations_cause_key" ON "brief_annotations" USING btree ("case_id","source","cause_key");--> statement-breakpoint
CREATE INDEX "brief_annotations_case_idx" ON "brief_annotations" USING btree ("case_id","created_in_version");--> statement-breakpoint
CREATE UNIQUE INDEX "briefs_evolution_key" ON "briefs" USING btree ("evolution_key");--> statement-breakpoint
CREATE INDEX "signals_tsv_idx" ON "signals" USING gin ("tsv");--> statement-breakpoint
CREATE INDEX "documents_pending_idx" ON "documents" USING btree ("created_at") WHERE "documents"."processing_status" = 'pending';