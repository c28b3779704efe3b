DROP INDEX "jobs_status_num_idx";--> statement-breakpoint
DROP INDEX "jobs_target_num_idx";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "pinned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "output_pruned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "audit_actor_id_idx" ON "audit_log" USING btree ("actor","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_action_id_idx" ON "audit_log" USING btree ("action","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_subject_id_idx" ON "audit_log" USING btree ("subject","id" DESC NULLS LAST) WHERE subject IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_kind_num_idx" ON "jobs" USING btree ("kind","num" DESC NULLS LAST,"status","target");--> statement-breakpoint
CREATE INDEX "jobs_deploys_idx" ON "jobs" USING btree ("target","num" DESC NULLS LAST) WHERE kind = 'deploy';--> statement-breakpoint
CREATE INDEX "jobs_finished_idx" ON "jobs" USING btree ("finished_at") WHERE finished_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_output_kept_idx" ON "jobs" USING btree ("finished_at") WHERE finished_at IS NOT NULL AND output_pruned_at IS NULL;--> statement-breakpoint
CREATE INDEX "jobs_status_num_idx" ON "jobs" USING btree ("status","num" DESC NULLS LAST,"kind","target");--> statement-breakpoint
CREATE INDEX "jobs_target_num_idx" ON "jobs" USING btree ("target","num" DESC NULLS LAST,"kind","status") WHERE target IS NOT NULL;