import { JobValidationError } from './errors.ts';
import type { RepoCredential } from './secret-box.ts';

/**
 * A repository URL may carry a credential (`https://user:token@host/repo.git`,
 * `https://token@host/…`, `ssh://user:password@host/…`). It is a secret like an
 * environment secret: sealed on save, shown as `***` everywhere, and put back
 * into the URL only in the worker, for git.
 */
export const REPO_MASK = '***';

interface ParsedUrl {
  scheme: string;
  user: string | null;
  /** The credential as written in the URL (percent-encoded), or null. */
  secret: string | null;
  hostPort: string;
  rest: string;
}

/** Authority up to the first `/`, `?` or `#`; its userinfo ends at the last `@` (as WHATWG URL reads it). */
function parse(url: string): ParsedUrl | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!m) return null; // scp-like `git@host:path` or a local path: no room for a password
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  if (at < 0) return { scheme, user: null, secret: null, hostPort: authority, rest };
  const userinfo = authority.slice(0, at);
  const hostPort = authority.slice(at + 1);
  const colon = userinfo.indexOf(':');
  if (colon >= 0) {
    const secret = userinfo.slice(colon + 1);
    return { scheme, user: userinfo.slice(0, colon), secret: secret || null, hostPort, rest };
  }
  // Over http(s) a lone userinfo is a token (GitHub, GitLab); over ssh it is just the login name.
  return /^https?$/i.test(scheme)
    ? { scheme, user: null, secret: userinfo || null, hostPort, rest }
    : { scheme, user: userinfo, secret: null, hostPort, rest };
}

function format(p: ParsedUrl, secret: string | null): string {
  const userinfo = p.user === null ? (secret ?? '') : secret === null ? p.user : `${p.user}:${secret}`;
  return `${p.scheme}://${userinfo ? `${userinfo}@` : ''}${p.hostPort}${p.rest}`;
}

const originOf = (p: ParsedUrl) => `${p.scheme}://${p.hostPort}`.toLowerCase();

/** The URL as anyone may see it: its credential, if any, replaced by `***`. */
export function maskRepoUrl(url: string): string {
  const p = parse(url);
  return p?.secret ? format(p, REPO_MASK) : url;
}

/**
 * On save: the URL to store (masked) and the credential to seal. A URL that
 * shows the mask keeps the stored credential, but only for the origin it was
 * given for, so that a changed host never receives it.
 */
export function sealableRepoUrl(
  url: string,
  stored: RepoCredential | null,
): { url: string; credential: RepoCredential | null } {
  const p = parse(url);
  if (!p?.secret) return { url, credential: null };
  if (p.secret !== REPO_MASK)
    return { url: format(p, REPO_MASK), credential: { origin: originOf(p), secret: p.secret } };
  if (stored?.origin === originOf(p)) return { url, credential: stored };
  const why = stored
    ? `the stored credential was given for ${stored.origin}: give it again for ${originOf(p)}`
    : 'no credential is stored for this target: give the full URL';
  throw new JobValidationError(`deploy.repo shows ${REPO_MASK} but ${why}`, {
    fieldErrors: { 'deploy.repo': [why] },
  });
}

/** In the worker, for git only: the stored URL with its credential put back. */
export function realRepoUrl(url: string, stored: RepoCredential | null): string {
  const p = parse(url);
  if (p?.secret !== REPO_MASK || !stored || stored.origin !== originOf(p)) return url;
  return format(p, stored.secret);
}

const decoded = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not valid percent-encoding: git would send it as written
  }
};

/**
 * How git gets a real URL's credential without it reaching any process's
 * command line (which every local user, a target's service account included,
 * can read in /proc): over http(s) the URL goes without it, and the credential
 * as a Basic Authorization header in git's environment, for that origin only.
 * Other schemes lose the password (ssh takes none from a URL) and keep the login name.
 */
export function gitFetchAuth(url: string): { url: string; env: Record<string, string> } {
  const p = parse(url);
  if (!p?.secret || p.secret === REPO_MASK) return { url, env: {} };
  // ssh and git:// never use a password from a URL, but git and ssh would still carry it on their command lines.
  if (!/^https?$/i.test(p.scheme)) return { url: format(p, null), env: {} };
  const login = p.user === null ? `${decoded(p.secret)}:` : `${decoded(p.user)}:${decoded(p.secret)}`;
  return {
    url: format({ ...p, user: null }, null),
    env: {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${originOf(p)}/.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(login).toString('base64')}`,
    },
  };
}

/** What output must never show of a real URL: its credential, as written and as git decodes it, and its userinfo. */
export function repoUrlSecrets(url: string): string[] {
  const p = parse(url);
  if (!p?.secret || p.secret === REPO_MASK) return [];
  const forms = [p.secret, p.user === null ? p.secret : `${p.user}:${p.secret}`, decoded(p.secret)];
  return [...new Set(forms)];
}

/** A target's spec as people see it: the repository URL masked, also in a row saved before credentials were sealed. */
export function publicSpec<S extends { deploy?: { repo: string } | undefined }>(spec: S): S {
  return spec.deploy ? { ...spec, deploy: { ...spec.deploy, repo: maskRepoUrl(spec.deploy.repo) } } : spec;
}
