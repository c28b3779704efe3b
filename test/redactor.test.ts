import { describe, expect, it } from 'vitest';
import {
  gitFetchAuth,
  maskRepoUrl,
  realRepoUrl,
  repoUrlSecrets,
  sealableRepoUrl,
} from '../jobs/lib/repo-credential.ts';
import { RedactingStream, Redactor } from '../worker/redactor.ts';

/** Feeds `writes` through a stream one by one, then ends it; returns what came out, write by write. */
function stream(secrets: string[], writes: string[]) {
  const r = new Redactor();
  r.add(secrets);
  const out: string[] = [];
  const s = new RedactingStream(r, (t) => out.push(t));
  for (const w of writes) s.write(w);
  const beforeEnd = out.join('');
  s.end();
  return { all: out.join(''), beforeEnd, pieces: out };
}

describe('streaming redactor', () => {
  it('catches a secret split across writes, at every possible split point', () => {
    const secret = 'hunter2-xyz';
    const text = `before ${secret} after`;
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b++) {
        const { all, pieces } = stream([secret], [text.slice(0, a), text.slice(a, b), text.slice(b)]);
        expect(all).toBe('before [secret] after');
        for (const p of pieces) expect(p).not.toContain('hunter');
      }
    }
  });

  it('holds back only a tail that could begin a secret (at most its length minus one), and lets it out at the end', () => {
    expect(stream(['abcdef'], ['0123456789']).beforeEnd).toBe('0123456789');
    const { beforeEnd, all } = stream(['abcdef'], ['01234abcde']);
    expect(beforeEnd).toBe('01234');
    expect(all).toBe('01234abcde');
    expect(stream(['aaaa'], ['xaaaaaa']).beforeEnd).toBe('x[secret]'); // the held "aa" may still be a new secret
    expect(stream([], ['no secrets: nothing waits']).beforeEnd).toBe('no secrets: nothing waits');
  });

  it('a secret that is a prefix of another, overlapping secrets, and repeats leave nothing of either', () => {
    expect(stream(['token', 'token-long'], ['a token-long b token c']).all).toBe('a [secret] b [secret] c');
    expect(stream(['abcd', 'cdef'], ['xabcdefx']).all).toBe('x[secret]x');
    expect(stream(['aaaa'], ['aaaaaaa']).all).toBe('[secret]');
  });

  it('never emits half of a surrogate pair when it holds a tail back', () => {
    const { pieces, all } = stream(['secret-1'], ['ab😀cd😀', 'e']);
    for (const p of pieces) expect(p).not.toMatch(/[\ud800-\udbff]$|^[\udc00-\udfff]/);
    expect(all).toBe('ab😀cd😀e');
  });

  it('ignores values under 4 characters, and redacts every string of a result, keys included', () => {
    const r = new Redactor();
    r.add(['abc', 's3cret']);
    expect(r.redact('abc s3cret')).toBe('abc [secret]');
    expect(r.redactDeep({ s3cret: ['x s3cret', 1, null, { y: 's3cret' }] })).toEqual({
      '[secret]': ['x [secret]', 1, null, { y: '[secret]' }],
    });
  });
});

describe('repository URL credentials', () => {
  it('masks user:password and a lone https token, and leaves ssh logins and scp-like URLs alone', () => {
    expect(maskRepoUrl('https://bob:t0k%40n@git.example.com/a/b.git')).toBe('https://bob:***@git.example.com/a/b.git');
    expect(maskRepoUrl('https://ghp_abcdef@github.com/a/b.git')).toBe('https://***@github.com/a/b.git');
    expect(maskRepoUrl('ssh://deploy:pw1234@host:2222/r.git')).toBe('ssh://deploy:***@host:2222/r.git');
    expect(maskRepoUrl('ssh://git@host/r.git')).toBe('ssh://git@host/r.git');
    expect(maskRepoUrl('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
    expect(maskRepoUrl('/srv/repo')).toBe('/srv/repo');
  });

  it('seals the credential for its origin; the masked URL keeps it there and nowhere else', () => {
    const saved = sealableRepoUrl('https://bob:t0k%40n@git.example.com/a/b.git', null);
    expect(saved).toEqual({
      url: 'https://bob:***@git.example.com/a/b.git',
      credential: { origin: 'https://git.example.com', secret: 't0k%40n' },
    });
    expect(sealableRepoUrl('https://bob:***@git.example.com/a/c.git', saved.credential).credential).toEqual(
      saved.credential,
    );
    expect(() => sealableRepoUrl('https://bob:***@evil.example.net/a/b.git', saved.credential)).toThrow(
      /give it again/,
    );
    expect(() => sealableRepoUrl('https://***@git.example.com/a/b.git', null)).toThrow(/no credential is stored/);
    expect(realRepoUrl(saved.url, saved.credential)).toBe('https://bob:t0k%40n@git.example.com/a/b.git');
    expect(realRepoUrl(saved.url, { origin: 'https://other', secret: 'x' })).toBe(saved.url);
    expect(gitFetchAuth('https://bob:t0k%40n@git.example.com/a/b.git')).toEqual({
      url: 'https://git.example.com/a/b.git',
      env: {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.https://git.example.com/.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('bob:t0k@n').toString('base64')}`,
      },
    });
    expect(gitFetchAuth('https://tok3n@h/r.git').env.GIT_CONFIG_VALUE_0).toBe(
      `Authorization: Basic ${Buffer.from('tok3n:').toString('base64')}`,
    );
    // git and ssh would put a password on their command lines, which every local user reads in /proc.
    expect(gitFetchAuth('ssh://u:pw12@h/r.git')).toEqual({ url: 'ssh://u@h/r.git', env: {} });
    expect(gitFetchAuth('git://:pw12@h/r.git')).toEqual({ url: 'git://h/r.git', env: {} });
    expect(repoUrlSecrets('https://bob:t0k%40n@git.example.com/a/b.git').sort()).toEqual(
      ['bob:t0k%40n', 't0k%40n', 't0k@n'].sort(),
    );
  });
});
