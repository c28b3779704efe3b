// Stops an embedded PostgreSQL cluster when the Deckhand process that started it dies without stopping it
// (SIGKILL, OOM kill): PostgreSQL itself never notices that its parent is gone.
// argv: the cluster's data directory. stdin: a pipe from that process; end of file means it is gone.
import fs from 'node:fs';
import path from 'node:path';

const dataDir = path.resolve(process.argv[2] ?? '');

function stopCluster() {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // Only this cluster's postmaster: a stale pid file's pid may by now belong to anything.
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (pid > 1 && argv.includes(dataDir)) process.kill(pid, 'SIGINT'); // fast shutdown
  } catch {
    // no pid file or no such process: the cluster is not running
  }
  process.exit(0);
}

process.stdin.on('data', () => {});
process.stdin.on('end', stopCluster);
process.stdin.on('error', stopCluster);
