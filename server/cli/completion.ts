import { CliError } from './errors.ts';
import { type CommandSpec, globalFlags } from './spec.ts';

/** Flags that take a file name, so the shell offers files after them. */
const fileFlags = ['--file', '--ca'];

const flagsOf = (spec: CommandSpec) => [...(spec.flags ?? []), ...globalFlags].join(' ');
// Names and flags are ours (letters, digits, dashes): nothing in them needs quoting in either shell.
const quoteZsh = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

function bashScript(commands: Record<string, CommandSpec>): string {
  const entries = Object.entries(commands);
  const flagCases = entries.map(([name, spec]) => `    ${name}) flags="${flagsOf(spec)}" ;;`).join('\n');
  const subCases = entries
    .filter(([, spec]) => spec.subcommands)
    .map(([name, spec]) => `    ${name}) COMPREPLY=($(compgen -W "${spec.subcommands!.join(' ')}" -- "$cur")) ;;`)
    .join('\n');
  return `# bash completion for deckhand: source it, or put it in ~/.local/share/bash-completion/completions/deckhand
_deckhand() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="\${COMP_WORDS[1]}" flags
  COMPREPLY=()
  case "$prev" in
    ${fileFlags.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${Object.keys(commands).join(' ')}" -- "$cur"))
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    case "$cmd" in
${flagCases}
    *) flags="${globalFlags.join(' ')}" ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return 0
  fi
  if [ "$COMP_CWORD" -eq 2 ]; then
    case "$cmd" in
${subCases}
    esac
  fi
  return 0
}
complete -o default -F _deckhand deckhand
`;
}

function zshScript(commands: Record<string, CommandSpec>): string {
  const entries = Object.entries(commands);
  const described = entries.map(([name, spec]) => `    ${quoteZsh(`${name}:${spec.about}`)}`).join('\n');
  const flagCases = entries.map(([name, spec]) => `    (${name}) compadd -- ${flagsOf(spec)} ;;`).join('\n');
  const subCases = entries
    .filter(([, spec]) => spec.subcommands)
    .map(([name, spec]) => `    (${name}) compadd -- ${spec.subcommands!.join(' ')} ;;`)
    .join('\n');
  return `#compdef deckhand
# zsh completion for deckhand: put it in a directory of $fpath as _deckhand, or source it after compinit
_deckhand() {
  local -a commands
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'deckhand command' commands
    return
  fi
  local cmd=$words[2]
  case $words[CURRENT-1] in
    (${fileFlags.join('|')}) _files; return ;;
  esac
  if [[ $PREFIX == -* ]]; then
    case $cmd in
${flagCases}
    (*) compadd -- ${globalFlags.join(' ')} ;;
    esac
    return
  fi
  if (( CURRENT == 3 )); then
    case $cmd in
${subCases}
    (*) _files ;;
    esac
    return
  fi
  _files
}
if [[ $funcstack[1] == _deckhand ]]; then
  _deckhand "$@"
else
  compdef _deckhand deckhand
fi
`;
}

/** `deckhand completion bash|zsh`: a script completing the commands, their subcommands and flags. */
export function completionScript(shell: string | undefined, commands: Record<string, CommandSpec>): string {
  if (shell === 'bash') return bashScript(commands);
  if (shell === 'zsh') return zshScript(commands);
  throw new CliError('usage: deckhand completion bash|zsh', 2);
}
