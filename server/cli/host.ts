import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, createLogger } from '../../config.ts';
import { audit } from '../../db/audit.ts';
import { connectDatabase, type Database } from '../../db/client.ts';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { locateDatabase, NoDatabaseError } from '../../db/locate.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { createUser, findUser, type Role, roles } from '../../db/users.ts';
import { migrateQueueBackend } from '../../jobs/lib/queue.ts';
import { createApiToken } from '../auth/tokens.ts';
import { CliError } from './errors.ts';

/**
 * Runs `fn` against Deckhand's database: DATABASE_URL, the embedded cluster of a
 * running `npm start`, or else the embedded cluster started just for this command.
 */
export async function withDatabase<T>(config: Config, fn: (db: Database, url: string) => Promise<T>): Promise<T> {
  let url: string;
  let stop = async () => {};
  try {
    url = locateDatabase(config);
  } catch (err) {
    if (!(err instanceof NoDatabaseError) || !fs.existsSync(path.join(config.DECKHAND_DATA_DIR, 'pg'))) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }
    const cluster = await startEmbeddedPostgres(config.DECKHAND_DATA_DIR, createLogger('warn', 'cli'));
    url = cluster.url;
    stop = cluster.stop;
  }
  const database = connectDatabase(url, 2);
  try {
    return await fn(database, url);
  } finally {
    await database.close();
    await stop();
  }
}

/** Host-side commands act as the operating-system user who ran them. */
const cliActor = () => ({ id: null, name: `cli:${os.userInfo().username}` });

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export async function userAdd(config: Config, name: string, role: string, password: string): Promise<string> {
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) throw new CliError('a username is 1-64 letters, digits, ".", "_" or "-"');
  if (!roles.includes(role as Role)) throw new CliError(`--role must be one of: ${roles.join(', ')}`);
  if (password.length < 12) throw new CliError('the password must have at least 12 characters');
  return withDatabase(config, async ({ db }) => {
    if (await findUser(db, name)) throw new CliError(`user ${name} already exists`);
    const u = await createUser(db, name, role as Role, password);
    await audit(db, cliActor(), 'user.create', u.username, { role: u.role });
    return `created ${u.username} (${u.role})`;
  });
}

/** `30d`, `12h`, `90m` → a date in the future. */
export function parseExpiry(text: string): Date {
  const m = /^(\d{1,5})([dhm])$/.exec(text);
  if (!m) throw new CliError('--expires takes a number and a unit: 30d, 12h or 90m');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  return new Date(Date.now() + Number(m[1]) * unit);
}

export async function tokenCreate(config: Config, name: string, expires: string | undefined): Promise<string> {
  const expiresAt = expires ? parseExpiry(expires) : null;
  return withDatabase(config, async ({ db }) => {
    const user = await findUser(db, name);
    if (!user) throw new CliError(`no user named ${name}`);
    const token = await createApiToken(db, user.id, expiresAt);
    await audit(db, cliActor(), 'token.create', user.username, { expiresAt: expiresAt?.toISOString() ?? null });
    return token;
  });
}

export async function migrate(config: Config): Promise<string> {
  return withDatabase(config, async ({ db }, url) => {
    await migrateDatabase(db);
    await migrateQueueBackend({ name: config.DECKHAND_QUEUE, databaseUrl: url, redisUrl: config.REDIS_URL });
    return 'database is up to date';
  });
}
