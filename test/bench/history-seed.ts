import type pg from 'pg';

/**
 * Seeds a realistic year of history straight in SQL (generate_series), fast enough for a million
 * jobs: jobs of every kind and ending, ten events each (status, progress and output), an audit row
 * per request plus some cancels, and a deployments row per deploy. Numbers, ids and times are
 * explicit, so a size can be seeded as the newest part of a bigger history and grown into the past:
 * job `num` n of `total` was created (total - n) / total of a year ago.
 */

export const EVENTS_PER_JOB = 10;
const TARGETS = 20;

export interface SeedUsers {
  ids: string[];
  names: string[];
}

/** Twenty deployable targets, `app-0` … `app-19`, that the seeded jobs act on. */
export async function seedTargets(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO targets (name, spec)
     SELECT 'app-' || i, jsonb_build_object('manager', 'systemd', 'unit', 'app-' || i || '.service',
       'description', 'seeded target ' || i, 'healthUrl', 'http://127.0.0.1:9/health',
       'deploy', jsonb_build_object('repo', '/srv/git/app-' || i || '.git', 'releasesDir', '/srv/app-' || i || '/releases'))
     FROM generate_series(0, $1 - 1) i ON CONFLICT DO NOTHING`,
    [TARGETS],
  );
}

/** Hash buckets 0..99 of a job number (PostgreSQL's own hash, so kind, status and target vary independently). */
const bucket = (salt: number) => `((hashint8(n + ${salt}) & 2147483647) % 100)`;

/**
 * Jobs `from`..`to` (inclusive) of a history of `total` jobs, with their events, audit rows and
 * deployments. Foreign-key triggers are skipped for the load (the rows are consistent by
 * construction), and the events' primary key is rebuilt once afterwards rather than row by row.
 */
export async function seedJobs(
  pool: pg.Pool,
  users: SeedUsers,
  range: { from: number; to: number; total: number },
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET synchronous_commit = off`);
    await client.query(`SET maintenance_work_mem = '256MB'`);
    await client.query(
      `INSERT INTO jobs (id, num, kind, target, script, params, status, progress, step, attempt, max_attempts,
         requested_by, created_at, started_at, finished_at, error, last_seq)
       SELECT gen_random_uuid(), n, k.kind,
         CASE WHEN k.kind = 'script' THEN NULL ELSE 'app-' || (${bucket(3)} % ${TARGETS}) END,
         CASE WHEN k.kind = 'script' THEN (ARRAY['disk-usage','service-status','log-grep','cert-expiry'])[1 + n % 4] END,
         CASE k.kind WHEN 'script' THEN jsonb_build_object('path', '/var', 'depth', 2)
                     WHEN 'restart' THEN jsonb_build_object('mode', 'reload')
                     WHEN 'deploy' THEN jsonb_build_object('ref', 'main')
                     ELSE '{}'::jsonb END,
         s.status, 100, 'done', 1, 1,
         ($4::uuid[])[1 + n % cardinality($4::uuid[])],
         t.at, t.at + interval '50 ms', t.at + interval '2 s',
         CASE WHEN s.status = 'failed' THEN 'exit code 1' END, ${EVENTS_PER_JOB}
       FROM generate_series($1::bigint, $2::bigint) n
       CROSS JOIN LATERAL (SELECT now() - ($3 - n) * (interval '365 days' / $3) AS at) t
       CROSS JOIN LATERAL (SELECT CASE WHEN ${bucket(0)} < 70 THEN 'script'
                                       WHEN ${bucket(0)} < 88 THEN 'restart'
                                       WHEN ${bucket(0)} < 96 THEN 'deploy'
                                       WHEN ${bucket(0)} < 98 THEN 'cert-reload'
                                       ELSE 'config' END AS kind) k
       CROSS JOIN LATERAL (SELECT CASE WHEN ${bucket(1)} < 92 THEN 'succeeded'
                                       WHEN ${bucket(1)} < 97 THEN 'failed'
                                       WHEN ${bucket(1)} < 99 THEN 'cancelled'
                                       ELSE 'lost' END AS status) s
`,
      [range.from, range.to, range.total, users.ids],
    );
    await client.query(`ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_seq_pk`);
    await client.query(
      `INSERT INTO job_events (job_id, seq, at, type, data)
       SELECT j.id, e.seq, j.created_at + e.seq * interval '100 ms', e.type,
         CASE e.type
           WHEN 'progress' THEN jsonb_build_object('progress', e.seq * 10, 'step', 'step ' || e.seq)
           WHEN 'output' THEN jsonb_build_object('stream', 'stdout',
             'text', 'line ' || e.seq || ' of job ' || j.num || ': 4.0K /var/cache 12M /var/lib 1.2G /var/log' || chr(10))
           ELSE jsonb_build_object('status', CASE e.seq WHEN 1 THEN 'queued' WHEN 2 THEN 'active' ELSE j.status END)
         END
       FROM jobs j
       CROSS JOIN LATERAL (SELECT seq, CASE WHEN seq IN (1, 2, ${EVENTS_PER_JOB}) THEN 'status'
                                            WHEN seq % 2 = 1 THEN 'progress' ELSE 'output' END AS type
                           FROM generate_series(1, ${EVENTS_PER_JOB}) seq) e
       WHERE j.num BETWEEN $1 AND $2
       ORDER BY j.num, e.seq`,
      [range.from, range.to],
    );
    await client.query(`ALTER TABLE job_events ADD CONSTRAINT job_events_job_id_seq_pk PRIMARY KEY (job_id, seq)`);
    // One row per request, and a cancel for one job in twenty; ids follow the jobs' order.
    await client.query(
      `INSERT INTO audit_log (id, at, actor_id, actor, action, subject, details)
       SELECT j.num * 2 + a.i, j.created_at + a.i * interval '1 s', j.requested_by,
         ($3::text[])[1 + j.num % cardinality($3::text[])],
         CASE a.i WHEN 0 THEN 'job.enqueue' ELSE 'job.cancel' END, j.id::text,
         CASE a.i WHEN 0 THEN jsonb_build_object('kind', j.kind, 'target', j.target, 'script', j.script, 'params', j.params)
                  ELSE jsonb_build_object('was', 'active') END
       FROM jobs j CROSS JOIN generate_series(0, 1) a(i)
       WHERE j.num BETWEEN $1 AND $2 AND (a.i = 0 OR j.num % 20 = 0)`,
      [range.from, range.to, users.names],
    );
    // One deploy in ten ran migrations; every release directory but the newest five of a target is
    // gone (a deploy prunes them, `keep` 5), as the deployments table says after a year.
    await client.query(
      `INSERT INTO deployments (job_id, target, ref, sha, release, phase, migrated, created_at, finished_at)
       SELECT id, target, 'main', md5(num::text), to_char(created_at, 'YYYYMMDDHH24MISS') || '-' || num,
         CASE status WHEN 'succeeded' THEN 'live' ELSE 'failed' END, num % 10 = 0, created_at, finished_at
       FROM jobs WHERE kind = 'deploy' AND num BETWEEN $1 AND $2`,
      [range.from, range.to],
    );
    await client.query(
      `WITH keep AS (
         SELECT job_id FROM (SELECT job_id, row_number() OVER (PARTITION BY target ORDER BY created_at DESC) AS rn
                             FROM deployments WHERE phase = 'live') ranked WHERE rn <= 5)
       UPDATE deployments SET pruned = true
       WHERE phase = 'live' AND NOT pruned AND job_id NOT IN (SELECT job_id FROM keep)`,
    );
    await client.query(`SELECT setval('jobs_num_seq', (SELECT max(num) FROM jobs))`);
    await client.query(`SELECT setval('audit_log_id_seq', (SELECT max(id) FROM audit_log))`);
    await client.query(`SET session_replication_role = DEFAULT`);
  } finally {
    client.release();
  }
  // Fresh statistics and a visibility map, as autovacuum would have after a year.
  await pool.query(`VACUUM ANALYZE jobs, job_events, audit_log, deployments`);
}
