DROP INDEX "audit_actor_id_idx";--> statement-breakpoint
DROP INDEX "audit_action_id_idx";--> statement-breakpoint
DROP INDEX "audit_subject_id_idx";--> statement-breakpoint
DROP INDEX "jobs_status_num_idx";--> statement-breakpoint
DROP INDEX "jobs_kind_num_idx";--> statement-breakpoint
DROP INDEX "jobs_target_num_idx";--> statement-breakpoint
DROP INDEX "jobs_deploys_idx";--> statement-breakpoint
CREATE INDEX "deployments_live_idx" ON "deployments" USING btree ("target","created_at" DESC NULLS LAST) WHERE phase = 'live' AND NOT pruned;--> statement-breakpoint
CREATE INDEX "deployments_migrated_idx" ON "deployments" USING btree ("target","created_at") WHERE migrated;--> statement-breakpoint
CREATE INDEX "audit_actor_id_idx" ON "audit_log" USING btree ("actor","id");--> statement-breakpoint
CREATE INDEX "audit_action_id_idx" ON "audit_log" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "audit_subject_id_idx" ON "audit_log" USING btree ("subject","id") WHERE subject IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_status_num_idx" ON "jobs" USING btree ("status","num","kind","target");--> statement-breakpoint
CREATE INDEX "jobs_kind_num_idx" ON "jobs" USING btree ("kind","num","status","target");--> statement-breakpoint
CREATE INDEX "jobs_target_num_idx" ON "jobs" USING btree ("target","num","kind","status") WHERE target IS NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_deploys_idx" ON "jobs" USING btree ("target","num") WHERE kind = 'deploy';