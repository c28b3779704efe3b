CREATE TABLE "deployments" (
	"job_id" uuid PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"ref" text,
	"sha" text,
	"release" text,
	"is_rollback" boolean DEFAULT false NOT NULL,
	"previous_release" text,
	"phase" text DEFAULT 'preparing' NOT NULL,
	"migrated" boolean DEFAULT false NOT NULL,
	"rolled_back_to" text,
	"pruned" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deployments_target_idx" ON "deployments" USING btree ("target","created_at" DESC NULLS LAST);