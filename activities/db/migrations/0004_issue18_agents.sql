CREATE TABLE "agent_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" text NOT NULL,
	"type" text NOT NULL,
	"workflow_type" text NOT NULL,
	"queue" text NOT NULL,
	"user_id" uuid NOT NULL,
	"case_id" uuid,
	"thread_id" uuid NOT NULL,
	"suggestion_id" uuid,
	"correlation_id" text NOT NULL,
	"input" jsonb NOT NULL,
	"placeholder_message_id" uuid,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_suggestions" ADD COLUMN "agent_workflow_id" text;--> statement-breakpoint
ALTER TABLE "agent_suggestions" ADD COLUMN "topic" text;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_thread_id_threads_id_fk" FOREIGN KEY ("thread_id") REFERENCES "public"."threads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_suggestion_id_agent_suggestions_id_fk" FOREIGN KEY ("suggestion_id") REFERENCES "public"."agent_suggestions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_placeholder_message_id_messages_id_fk" FOREIGN KEY ("placeholder_message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agent_runs_workflow_idx" ON "agent_runs" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "agent_runs_pending_idx" ON "agent_runs" USING btree ("created_at") WHERE "agent_runs"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "agent_runs_case_idx" ON "agent_runs" USING btree ("case_id");--> statement-breakpoint
CREATE UNIQUE INDEX "threads_case_activity_idx" ON "threads" USING btree ("case_id") WHERE "threads"."kind" = 'case-activity';