import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness, type TestUser } from './support/app.ts';

/**
 * JSON typed into a form field (the target import page, a schedule's pasted job) is parsed by the
 * route, after the edge's text check saw only its escapes: a `\u0000` in it is a 400, not a 500.
 */
describe('JSON pasted into a form field is checked for NUL bytes and lone surrogates', () => {
  let h: Harness;
  let admin: TestUser;

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
  });
  afterAll(() => h?.close());

  const post = (url: string, fields: Record<string, string>) =>
    h.app.request(`http://localhost${url}`, {
      method: 'POST',
      headers: {
        Cookie: admin.cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Sec-Fetch-Site': 'same-origin',
        'HX-Request': 'true',
        'X-CSRF-Token': admin.csrfToken,
      },
      body: new URLSearchParams(fields).toString(),
    });
  const count = async (table: string) =>
    Number((await h.database.db.execute(sql.raw(`SELECT count(*) AS n FROM ${table}`))).rows[0]!.n);

  it('a target import whose description holds \\u0000 is a 400 naming the field, and nothing is saved', async () => {
    const spec = '{"manager":"systemd","unit":"web.service","description":"bad\\u0000text"}';
    const res = await post('/ui/targets', { name: 'imported', spec });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('spec');
    expect(await count('targets')).toBe(0);
  });

  it('a target import with a lone surrogate is a 400 too', async () => {
    const spec = '{"manager":"systemd","unit":"web.service","description":"bad\\ud800"}';
    expect((await post('/ui/targets', { name: 'imported', spec })).status).toBe(400);
    expect(await count('targets')).toBe(0);
  });

  it('a schedule whose pasted job has a \\u0000 in a string parameter is a 400, and no schedule is kept', async () => {
    const jobJson = '{"kind":"script","script":"steps","params":{"count":1,"label":"a\\u0000b"}}';
    const res = await post('/ui/schedules', { cron: '0 3 * * *', tz: 'UTC', jobJson });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('jobJson');
    expect(await count('schedules')).toBe(0);
  });

  it('the same through the schedule form’s params field', async () => {
    const res = await post('/ui/schedules', {
      cron: '0 3 * * *',
      kind: 'script',
      script: 'steps',
      params: '{"count":1,"label":"a\\u0000b"}',
    });
    expect(res.status).toBe(400);
    expect(await count('schedules')).toBe(0);
  });
});
