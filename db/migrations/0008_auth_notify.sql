-- Web processes cache token and session checks (server/auth/cache.ts). Every change that could
-- make a cached check wrong tells them at commit, whoever makes it (web, CLI, a manual UPDATE).
-- Touches that only move last_used_at / last_active_at forward stay silent: they happen once a
-- minute per token or session and change no decision (moving one back, as a test does, is heard).
CREATE FUNCTION deckhand_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('deckhand_auth', TG_ARGV[0] || ':' || OLD.id::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER users_auth_notify_update AFTER UPDATE ON users FOR EACH ROW
  WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION deckhand_auth_notify('user');
--> statement-breakpoint
CREATE TRIGGER users_auth_notify_delete AFTER DELETE ON users FOR EACH ROW
  EXECUTE FUNCTION deckhand_auth_notify('user');
--> statement-breakpoint
CREATE TRIGGER sessions_auth_notify_update AFTER UPDATE ON sessions FOR EACH ROW
  WHEN (to_jsonb(OLD) - 'last_active_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_active_at'
        OR NEW.last_active_at < OLD.last_active_at)
  EXECUTE FUNCTION deckhand_auth_notify('session');
--> statement-breakpoint
CREATE TRIGGER sessions_auth_notify_delete AFTER DELETE ON sessions FOR EACH ROW
  EXECUTE FUNCTION deckhand_auth_notify('session');
--> statement-breakpoint
CREATE TRIGGER api_tokens_auth_notify_update AFTER UPDATE ON api_tokens FOR EACH ROW
  WHEN (to_jsonb(OLD) - 'last_used_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_used_at'
        OR NEW.last_used_at < OLD.last_used_at OR (NEW.last_used_at IS NULL AND OLD.last_used_at IS NOT NULL))
  EXECUTE FUNCTION deckhand_auth_notify('token');
--> statement-breakpoint
CREATE TRIGGER api_tokens_auth_notify_delete AFTER DELETE ON api_tokens FOR EACH ROW
  EXECUTE FUNCTION deckhand_auth_notify('token');
