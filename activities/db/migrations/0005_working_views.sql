-- Custom SQL migration file, put your code below! --
-- ==========================================================================================
-- HAND-WRITTEN (issue 18, refreshWorkingViews): the working views. drizzle-kit does not
-- generate materialized views from columns; activities/db/schema/working-views.ts declares
-- them `.existing()`, so this block is carried over as it is when migrations are renumbered.
-- Each view has a unique index: REFRESH MATERIALIZED VIEW CONCURRENTLY needs one. Created WITH
-- DATA (empty on a new database), since a concurrent refresh refuses an unpopulated view.
-- `refreshed_at` is now() of the refresh that computed the row.
-- ==========================================================================================
CREATE MATERIALIZED VIEW "case_overviews" AS
SELECT
  c.id AS case_id,
  c.user_id,
  (SELECT count(*)::int FROM documents d WHERE d.case_id = c.id) AS documents,
  (SELECT count(*)::int FROM documents d WHERE d.case_id = c.id AND d.processing_status = 'completed') AS documents_completed,
  (SELECT count(*)::int FROM evidence e WHERE e.case_id = c.id AND e.status <> 'failed') AS evidence,
  (SELECT count(*)::int FROM signals s WHERE s.case_id = c.id AND s.status = 'active' AND s.temperature = 'hot') AS signals_hot,
  (SELECT count(*)::int FROM signals s WHERE s.case_id = c.id AND s.status = 'active' AND s.temperature = 'warm') AS signals_warm,
  (SELECT count(*)::int FROM signals s WHERE s.case_id = c.id AND s.status = 'active' AND s.temperature = 'cold') AS signals_cold,
  (SELECT count(*)::int FROM contradictions x WHERE x.case_id = c.id) AS contradictions,
  (SELECT max(b.version) FROM briefs b WHERE b.case_id = c.id) AS latest_brief_version,
  now() AS refreshed_at
FROM cases c
WITH DATA;--> statement-breakpoint
CREATE UNIQUE INDEX "case_overviews_case_id_key" ON "case_overviews" ("case_id");--> statement-breakpoint
CREATE MATERIALIZED VIEW "thread_signal_summaries" AS
SELECT
  t.id AS thread_id,
  t.user_id,
  count(s.id) FILTER (WHERE s.status = 'active')::int AS active,
  count(s.id) FILTER (WHERE s.status = 'active' AND s.temperature = 'hot')::int AS hot,
  count(s.id) FILTER (WHERE s.status = 'active' AND s.temperature = 'warm')::int AS warm,
  count(s.id) FILTER (WHERE s.status = 'active' AND s.temperature = 'cold')::int AS cold,
  count(s.id) FILTER (WHERE s.status = 'merged')::int AS merged,
  count(s.id) FILTER (WHERE s.status = 'archived')::int AS archived,
  (SELECT coalesce(jsonb_object_agg(g.type, g.n), '{}'::jsonb)
     FROM (SELECT type, count(*)::int AS n FROM signals WHERE thread_id = t.id AND status = 'active' GROUP BY type) g) AS by_type,
  max(s.last_seen_at) AS last_signal_at,
  now() AS refreshed_at
FROM threads t
LEFT JOIN signals s ON s.thread_id = t.id
GROUP BY t.id, t.user_id
WITH DATA;--> statement-breakpoint
CREATE UNIQUE INDEX "thread_signal_summaries_thread_id_key" ON "thread_signal_summaries" ("thread_id");
