CREATE TABLE "inquiries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"question" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inquiry_documents" (
	"inquiry_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"version" integer NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"document_id" uuid,
	"status" text DEFAULT 'running' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inquiries" ADD CONSTRAINT "inquiries_case_id_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiries" ADD CONSTRAINT "inquiries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiry_documents" ADD CONSTRAINT "inquiry_documents_inquiry_id_inquiries_id_fk" FOREIGN KEY ("inquiry_id") REFERENCES "public"."inquiries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiry_documents" ADD CONSTRAINT "inquiry_documents_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inquiries_case_created_idx" ON "inquiries" USING btree ("case_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "inquiry_documents_version_key" ON "inquiry_documents" USING btree ("inquiry_id","kind","version");--> statement-breakpoint
CREATE UNIQUE INDEX "inquiry_documents_run_key" ON "inquiry_documents" USING btree ("inquiry_id","kind","run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "inquiry_documents_document_key" ON "inquiry_documents" USING btree ("document_id") WHERE "inquiry_documents"."document_id" is not null;