ALTER TABLE "signals" ADD COLUMN "base_confidence" real;--> statement-breakpoint
ALTER TABLE "signals" ADD COLUMN "last_referenced_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "signals_merged_into_idx" ON "signals" USING btree ("merged_into") WHERE "signals"."merged_into" is not null;--> statement-breakpoint
-- Hand-written (issue 18, Decision 22): the base decay starts from is today's confidence.
UPDATE "signals" SET "base_confidence" = "confidence" WHERE "base_confidence" IS NULL;
