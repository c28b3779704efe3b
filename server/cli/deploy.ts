import type { ApiDeployment } from '../deployment-service.ts';
import { type ApiClient, submitted } from './client.ts';
import { CliError } from './errors.ts';
import { emit, type OutputOptions } from './output.ts';

export const deployUsage = `  deploy TARGET [REF] [--wait]          (REF: branch, tag or sha; default the target's branch)
  rollback TARGET [--to RELEASE] [--yes] [--wait]
  deployments TARGET`;

export function formatDeployments(items: ApiDeployment[]): string {
  return items
    .map((d) =>
      [
        d.createdAt ?? '-',
        d.status.padEnd(9),
        (d.isRollback ? `rollback to ${d.release}` : (d.ref ?? '-')).padEnd(24),
        (d.sha ?? '-').slice(0, 7).padEnd(7),
        d.requestedBy.padEnd(12),
        d.rolledBackTo ? `rolled back to ${d.rolledBackTo}` : '',
        d.jobId,
      ].join('  '),
    )
    .join('\n');
}

/** `deckhand deploy|rollback|deployments …`: thin calls of the deploy API. */
export async function deployCommand(
  api: ApiClient,
  cmd: string,
  [target, ref]: string[],
  o: OutputOptions & { to?: string | undefined; yes?: boolean | undefined; wait?: boolean | undefined },
): Promise<number> {
  if (!target) throw new CliError(`usage:\n${deployUsage}`, 2);
  const base = `/api/targets/${encodeURIComponent(target)}`;
  if (cmd === 'deployments') {
    const page = await api.call<{ items: ApiDeployment[] }>('GET', `${base}/deployments`);
    emit(o, page, () => formatDeployments(page.items));
    return 0;
  }
  if (cmd === 'deploy') {
    const job = await api.call<{ id: string }>('POST', '/api/jobs', {
      kind: 'deploy',
      target,
      ...(ref ? { ref } : {}),
    });
    return submitted(api, job, o);
  }
  const body = { ...(o.to ? { release: o.to } : {}), acknowledgeMigrations: Boolean(o.yes) };
  const job = await api.call<{ id: string; release: string }>('POST', `${base}/rollback`, body).catch((err) => {
    if (err instanceof CliError && /migrations ran since/.test(err.message)) {
      throw new CliError(`${err.message.split('\n')[0]}\nre-run with --yes to roll back anyway`);
    }
    throw err;
  });
  return submitted(api, job, o, `${job.id} (rolling back to ${job.release})`);
}
