import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../db/schema.ts';
import { issueApiToken } from '../server/auth/tokens.ts';
import { csvCell } from '../server/csv.ts';
import { auditSentence } from '../views/audit-sentence.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

let h: Harness;
let admin: TestUser;
let operator: TestUser;
let viewer: TestUser;

/** Rows at known times, so filters and pages have exact answers. */
const seeded = [
  { at: '2026-01-01T10:00:00Z', actor: 'alice', action: 'auth.login', subject: 'alice', details: { ip: '10.0.0.1' } },
  {
    at: '2026-01-02T10:00:00Z',
    actor: 'ops',
    action: 'job.enqueue',
    subject: '0b7f6c1e-1111-4222-8333-944445555666',
    details: { kind: 'deploy', target: 'shop', params: { ref: 'v2.1' } },
  },
  {
    at: '2026-01-03T10:00:00Z',
    actor: 'admin',
    action: 'job.enqueue',
    subject: '1b7f6c1e-1111-4222-8333-944445555666',
    details: { kind: 'restart', target: 'site', params: { mode: 'restart' } },
  },
  { at: '2026-01-04T10:00:00Z', actor: 'admin', action: 'token.revoke', subject: 'bob', details: { id: 'abc' } },
  {
    at: '2026-01-05T10:00:00Z',
    actor: '=cmd|" /C calc"!A0',
    action: 'target.update',
    subject: '+shop, "the, big one"',
    details: { note: '-2+3', password: 'hunter2', nested: { apiKey: 'k-123', ok: 1 } },
  },
];

beforeAll(async () => {
  h = await harness();
  admin = await h.user('admin');
  operator = await h.user('operator');
  viewer = await h.user('viewer');
  await h.database.db.delete(auditLog);
  await h.database.db.insert(auditLog).values(seeded.map((r) => ({ ...r, at: new Date(r.at), actorId: null })));
});
afterAll(async () => {
  await h?.close();
});

const page = (url: string, user = admin) => h.app.request(url, { headers: { Authorization: `Bearer ${user.token}` } });

describe('audit sentences', () => {
  const say = (actor: string, action: string, subject: string | null, details: Record<string, unknown> = {}) =>
    auditSentence({ actor, action, subject, details });

  it('read as sentences for the main actions, with a generic fallback', () => {
    expect(say('admin', 'job.enqueue', 'x', { kind: 'restart', target: 'site', params: { mode: 'restart' } })).toBe(
      'admin restarted site',
    );
    expect(say('ops', 'job.enqueue', 'x', { kind: 'deploy', target: 'shop', params: { ref: 'v2.1' } })).toBe(
      'ops deployed shop v2.1',
    );
    expect(say('ops', 'job.enqueue', 'x', { kind: 'deploy', target: 'shop', params: { release: 'r7' } })).toBe(
      'ops rolled back shop to r7',
    );
    expect(say('ops', 'job.enqueue', 'x', { kind: 'restart', target: 'web', params: { mode: 'stop' } })).toBe(
      'ops stopped web',
    );
    expect(say('ops', 'job.enqueue', 'x', { kind: 'script', script: 'disk-usage', target: null })).toBe(
      'ops ran the script disk-usage',
    );
    const sid = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
    const weekly = { cron: '0 4 * * 1', job: { kind: 'restart', target: 'web', mode: 'reload' } };
    expect(say('ops', 'schedule.create', sid, weekly)).toBe('ops scheduled (0 4 * * 1): reloaded web [0f1e2d3c]');
    expect(say('ops', 'schedule.delete', sid, weekly)).toBe('ops deleted the schedule 0f1e2d3c (reloaded web)');
    expect(say('system', 'schedule.skip', sid, { reason: 'bob is disabled' })).toBe(
      'system skipped a run of the schedule 0f1e2d3c: bob is disabled',
    );
    expect(say('ops', 'job.enqueue', 'x', { kind: 'script', script: 'cert-expiry', schedule: sid })).toBe(
      'ops ran the script cert-expiry (scheduled)',
    );
    expect(say('admin', 'token.revoke', 'bob', { id: 'abc' })).toBe('admin revoked a token of bob');
    expect(say('alice', 'auth.login', 'alice')).toBe('alice signed in');
    expect(say('admin', 'target.lock.force_release', 'shop')).toBe('admin force-released the lock of shop');
    expect(say('admin', 'deckhand.restart', null)).toBe('admin restarted Deckhand');
    expect(say('carol', 'widget.frobnicate', 'w1')).toBe('carol did widget.frobnicate on w1');
    expect(say('carol', 'widget.frobnicate', null)).toBe('carol did widget.frobnicate');
  });
});

describe('GET /api/audit', () => {
  it('filters by actor, action, subject and time range', async () => {
    const q = async (qs: string) =>
      ((await api(h, admin, 'GET', `/api/audit?${qs}`)).json.entries as { sentence: string }[]).map((e) => e.sentence);
    expect(await q('actor=admin')).toEqual(['admin revoked a token of bob', 'admin restarted site']);
    expect(await q('action=job.enqueue')).toEqual(['admin restarted site', 'ops deployed shop v2.1']);
    expect(await q('subject=bob')).toEqual(['admin revoked a token of bob']);
    expect(await q('since=2026-01-02&until=2026-01-04')).toEqual(['admin restarted site', 'ops deployed shop v2.1']);
    expect(await q('since=2026-01-03T10:00&actor=admin&action=job.enqueue')).toEqual(['admin restarted site']);
    expect(await q('actor=&action=')).toHaveLength(5); // empty fields of a submitted form count as absent
  });

  it('pages newest first by cursor until the oldest row', async () => {
    const seen: string[] = [];
    let url = '/api/audit?limit=2';
    for (;;) {
      const res = await api(h, admin, 'GET', url);
      expect(res.status).toBe(200);
      seen.push(...res.json.entries.map((e: { at: string }) => e.at));
      if (!res.json.nextCursor) break;
      url = `/api/audit?limit=2&cursor=${res.json.nextCursor}`;
    }
    expect(seen).toEqual(seeded.map((r) => new Date(r.at).toISOString()).reverse());
  });

  it('masks secret-looking keys in details at any depth', async () => {
    const res = await api(h, admin, 'GET', '/api/audit?action=target.update');
    expect(res.json.entries[0].details).toEqual({
      note: '-2+3',
      password: '[redacted]',
      nested: { apiKey: '[redacted]', ok: 1 },
    });
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('k-123');
  });

  it('answers bad filters with a 400 naming the field, unknown fields too', async () => {
    const bad = async (qs: string) => {
      const res = await api(h, admin, 'GET', `/api/audit?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      return Object.keys(res.json.error.details.fieldErrors ?? {}).concat(res.json.error.details.formErrors ?? []);
    };
    expect(await bad('since=yesterday')).toEqual(['since']);
    expect(await bad('until=2026-13-45')).toEqual(['until']);
    expect(await bad('since=2026-01-05&until=2026-01-01')).toEqual(['until']);
    expect(await bad('cursor=bm90YWN1cnNvcg')).toEqual(['cursor']);
    expect(await bad('limit=0')).toEqual(['limit']);
    expect(await bad('action=DROP TABLE')).toEqual(['action']);
    expect((await bad('colour=red')).join(' ')).toContain('colour');
  });

  it('is for admins only: operators and viewers get a 403 on the page, the API and the CSV', async () => {
    for (const user of [operator, viewer]) {
      for (const url of ['/audit', '/api/audit', '/audit.csv']) {
        expect((await page(url, user)).status, `${user.username} ${url}`).toBe(403);
      }
    }
  });
});

describe('the audit page', () => {
  it('shows sentences, folded pretty-printed details, filters kept in the Older and CSV links', async () => {
    const res = await page('/audit?action=job.enqueue&limit=1');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('admin restarted site');
    expect(html).not.toContain('ops deployed shop');
    expect(html).toContain('<details><summary>details</summary>');
    expect(html).toContain('&quot;target&quot;: &quot;site&quot;'); // pretty-printed: a space after the colon
    expect(html).toMatch(/href="\/audit\?action=job.enqueue&amp;cursor=[\w-]+" rel="next"/);
    expect(html).toContain('href="/audit.csv?action=job.enqueue"');
    const older = html.match(/href="(\/audit\?[^"]+)" rel="next"/)![1]!.replaceAll('&amp;', '&');
    const next = await (await page(`${older}&limit=1`)).text();
    expect(next).toContain('ops deployed shop v2.1');
    expect(next).not.toContain('rel="next"');
  });

  it('answers a bad filter with a 400 page that names the field', async () => {
    const res = await page('/audit?since=soon');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('since: expected an ISO date');
  });
});

describe('GET /audit.csv', () => {
  it('exports the filtered range, quoted, with formula-looking cells defused', async () => {
    const res = await page('/audit.csv?since=2026-01-04');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('at,actor,action,subject,sentence,details');
    expect(lines).toHaveLength(4); // header, two rows, the final newline
    expect(lines[1]).toBe(
      `2026-01-05T10:00:00.000Z,"'=cmd|"" /C calc""!A0",target.update,"'+shop, ""the, big one""",` +
        `"'=cmd|"" /C calc""!A0 changed the target +shop, ""the, big one""",` +
        `"{""note"":""-2+3"",""nested"":{""ok"":1,""apiKey"":""[redacted]""},""password"":""[redacted]""}"`,
    );
    expect(lines[2]).toBe(
      '2026-01-04T10:00:00.000Z,admin,token.revoke,bob,admin revoked a token of bob,"{""id"":""abc""}"',
    );
  });

  it('quotes cells per RFC 4180 and prefixes = + - @ with a quote', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('a=1')).toBe('a=1');
  });
});

// Last: it adds rows that the exact answers above do not expect.
describe('audit sentences of real actions', () => {
  it('come from real actions: revoking a token through the API shows up as one', async () => {
    const { id } = await issueApiToken(h.database.db, operator.id, null);
    expect((await api(h, admin, 'DELETE', `/api/tokens/${id}`)).status).toBe(204);
    const res = await api(h, admin, 'GET', '/api/audit?action=token.revoke&limit=1');
    expect(res.json.entries[0].sentence).toBe(`${admin.username} revoked a token of ${operator.username}`);
  });
});
