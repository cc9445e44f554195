CREATE TABLE "budget_reservations" (
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"seq" integer NOT NULL,
	"call" integer NOT NULL,
	"tokens" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budget_reservations_workflow_id_run_id_seq_call_pk" PRIMARY KEY("workflow_id","run_id","seq","call")
);
