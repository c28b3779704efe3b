import { ConfigError, loadConfig } from '../../config.ts';
import type { Role } from '../../db/users.ts';
import { type HostResult, tokenCreate, tokenList, tokenRevoke, userAdd, userChange } from './accounts.ts';
import { apiCommand, type Flags, fail, parseArgv } from './commands.ts';
import { runMain } from './errors.ts';
import { migrate } from './host.ts';
import { emit } from './output.ts';
import { apiCommands, apiUsage, hostCommands, hostUsage } from './spec.ts';
import { readStdin } from './stdin.ts';

// The repository's `deckhand`: the host-side commands, which need the database, and every API command.
const usage = `usage: deckhand <command>

${hostUsage}

${apiUsage}`;

const need = (v: string | undefined, flag: string) => v ?? fail(`${flag} is required`);

async function password(o: Flags): Promise<string> {
  if (!o['password-stdin']) fail('pass the password on standard input with --password-stdin');
  return readStdin();
}

/** The host-side commands, or null when `words` is not one of them. */
async function hostCommand([cmd, sub, name, arg]: string[], o: Flags): Promise<HostResult | null> {
  const config = () => loadConfig();
  switch (`${cmd} ${sub ?? ''}`.trim()) {
    case 'user add':
      return userAdd(config(), need(name, 'NAME'), need(o.role, '--role'), await password(o));
    case 'user passwd':
      return userChange(config(), need(name, 'NAME'), { password: await password(o) });
    case 'user role':
      return userChange(config(), need(name, 'NAME'), { role: need(arg, 'ROLE') as Role });
    case 'user disable':
    case 'user enable':
      return userChange(config(), need(name, 'NAME'), { disabled: sub === 'disable' });
    case 'token create':
      return tokenCreate(config(), need(o.user, '--user'), o.expires);
    case 'token list':
      return tokenList(config(), o.user);
    case 'token revoke':
      return tokenRevoke(config(), need(name, 'ID'));
    case 'migrate':
      return migrate(config());
  }
  if (cmd && cmd in hostCommands) fail(`unknown command: ${[cmd, sub].join(' ')}\n\n${hostUsage}`, 2);
  return null;
}

runMain(
  async () => {
    const { values: o, positionals } = parseArgv(process.argv.slice(2));
    if (o.help || !positionals[0]) {
      console.log(usage);
      return positionals[0] || o.help ? 0 : 2;
    }
    const done = await hostCommand(positionals, o);
    if (done !== null) {
      emit(o, done.data, done.text);
      return 0;
    }
    if (!(positionals[0] in apiCommands)) fail(`unknown command: ${positionals.join(' ')}\n\n${usage}`, 2);
    return apiCommand(positionals, o, { ...apiCommands, ...hostCommands });
  },
  (err) => err instanceof ConfigError,
);
