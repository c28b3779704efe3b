import { type ApiClient, apiClient } from './client.ts';
import { CliError } from './errors.ts';
import { emit, type OutputOptions } from './output.ts';
import { normaliseUrl, readCa, removeProfile, saveProfile } from './profile.ts';
import { promptHidden, readStdin } from './stdin.ts';

export interface LoginOptions extends OutputOptions {
  ca?: string | undefined;
  'token-stdin'?: boolean | undefined;
}

/**
 * `deckhand login URL`: asks for a token (or reads it with --token-stdin), checks it against the
 * server, and only then saves URL, token and CA, so a typo never leaves a broken config behind.
 */
export async function login(url: string | undefined, o: LoginOptions, env: NodeJS.ProcessEnv): Promise<number> {
  if (!url) throw new CliError('usage: deckhand login URL [--token-stdin] [--ca FILE]', 2);
  const base = normaliseUrl(url);
  // Before the prompt: the user can still stop before the token crosses the network.
  const warning = plaintextWarning(base);
  if (warning) process.stderr.write(`deckhand: warning: ${warning}\n`);
  const ca = o.ca ? readCa(o.ca) : undefined;
  const token = (o['token-stdin'] ? await readStdin() : await promptHidden(`API token for ${base}: `)).trim();
  if (!token) throw new CliError('no token given; an admin makes one on the Tokens page or with deckhand token create');
  await checkToken(apiClient({ base, token, ca }));
  const file = saveProfile({ url: base, token, ...(ca ? { ca } : {}) }, env);
  emit(o, { url: base, configFile: file }, `logged in to ${base}; saved in ${file}`);
  return 0;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Why a login to `base` sends the token in the clear, or null: https, or this machine's loopback. */
export function plaintextWarning(base: string): string | null {
  const url = new URL(base);
  if (url.protocol !== 'http:' || LOOPBACK.test(url.hostname)) return null;
  return `${url.origin} is plain http: the token and every answer cross the network unencrypted; use https:// (deploy/nginx.conf puts TLS in front of Deckhand)`;
}

/** Any viewer may list jobs: a cheap question that a good token answers and a bad one gets 401 for. */
async function checkToken(api: ApiClient): Promise<void> {
  await api.call('GET', '/api/jobs?limit=1');
}

export function logout(o: OutputOptions, env: NodeJS.ProcessEnv): number {
  const r = removeProfile(env);
  emit(o, { configFile: r.file, removed: r.removed }, r.removed ? `logged out; removed ${r.file}` : 'not logged in');
  return 0;
}
