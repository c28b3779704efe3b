// The standalone `deckhand` (dist/cli/deckhand.mjs): the API commands only, bundled with no
// dependencies but Node, so a laptop can download it from the server it talks to.
import { apiCommand, parseArgv } from './commands.ts';
import { CliError, runMain } from './errors.ts';
import { apiCommands, apiUsage, hostCommands } from './spec.ts';

const usage = `usage: deckhand <command>

${apiUsage}

user, token and migrate work on the Deckhand host itself: run them there, from the server install.`;

const overTheApi: Record<string, string> = {
  user: '; over the API, admins use deckhand users',
  token: '; over the API, deckhand tokens lists and revokes them, and the Tokens page makes them',
};

const hostOnly = (cmd: string) =>
  `deckhand ${cmd} works on the Deckhand host, against its database: run it there from the server install ` +
  `(node server/cli/deckhand.mjs ${cmd} … in Deckhand's directory)${overTheApi[cmd] ?? ''}`;

runMain(async () => {
  const { values: o, positionals } = parseArgv(process.argv.slice(2));
  const cmd = positionals[0];
  if (o.help || !cmd) {
    console.log(usage);
    return cmd || o.help ? 0 : 2;
  }
  if (cmd in hostCommands) throw new CliError(hostOnly(cmd), 2);
  return apiCommand(positionals, o, apiCommands);
});
