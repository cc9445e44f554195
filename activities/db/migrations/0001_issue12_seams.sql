CREATE TABLE "token_ledger" (
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"activity_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"call" integer DEFAULT 0 NOT NULL,
	"user_id" uuid,
	"purpose" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "token_ledger_workflow_id_run_id_activity_id_attempt_call_pk" PRIMARY KEY("workflow_id","run_id","activity_id","attempt","call")
);
--> statement-breakpoint
ALTER TABLE "run_progress" DROP CONSTRAINT "run_progress_workflow_id_seq_pk";--> statement-breakpoint
ALTER TABLE "signals" ALTER COLUMN "thread_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "threads" ADD COLUMN "kind" text DEFAULT 'chat' NOT NULL;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "run_id" text;--> statement-breakpoint
ALTER TABLE "run_progress" ADD COLUMN "run_id" text;--> statement-breakpoint
-- Rows written before progress was keyed by run: each workflow id's log stands for one run.
UPDATE "run_progress" SET "run_id" = 'before-run-ids:' || "workflow_id";--> statement-breakpoint
ALTER TABLE "run_progress" ALTER COLUMN "run_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "run_progress" ADD CONSTRAINT "run_progress_run_id_seq_pk" PRIMARY KEY("run_id","seq");--> statement-breakpoint
ALTER TABLE "token_ledger" ADD CONSTRAINT "token_ledger_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_pending_user_idx" ON "messages" USING btree ("thread_id","created_at") WHERE "messages"."status" = 'pending' and "messages"."role" = 'user';--> statement-breakpoint
CREATE UNIQUE INDEX "signals_case_text_idx" ON "signals" USING btree ("case_id","text_hash") WHERE "signals"."thread_id" is null;--> statement-breakpoint
CREATE INDEX "run_progress_workflow_idx" ON "run_progress" USING btree ("workflow_id","created_at");