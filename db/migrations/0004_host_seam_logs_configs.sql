CREATE TABLE "config_versions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"path" text NOT NULL,
	"version" integer NOT NULL,
	"text" text NOT NULL,
	"sha256" text NOT NULL,
	"comment" text NOT NULL,
	"actor_id" uuid,
	"actor" text NOT NULL,
	"job_id" uuid,
	"origin" text NOT NULL,
	"diff" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "host_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"host" text NOT NULL,
	"kind" text NOT NULL,
	"params" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_by" text,
	"answered_at" timestamp with time zone,
	"reply" jsonb,
	"error" jsonb
);
--> statement-breakpoint
CREATE TABLE "host_status" (
	"host" text PRIMARY KEY NOT NULL,
	"figures" jsonb NOT NULL,
	"worker" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "target_restarts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"old_pid" integer,
	"new_pid" integer,
	"detail" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "target_status" (
	"target" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"status" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "targets" ADD COLUMN "host" text;--> statement-breakpoint
CREATE UNIQUE INDEX "config_versions_path_version_idx" ON "config_versions" USING btree ("target","path","version");--> statement-breakpoint
CREATE INDEX "host_requests_open_idx" ON "host_requests" USING btree ("host","created_at") WHERE claimed_by IS NULL;--> statement-breakpoint
CREATE INDEX "target_restarts_target_at_idx" ON "target_restarts" USING btree ("target","at" DESC NULLS LAST);