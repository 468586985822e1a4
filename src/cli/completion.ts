/**
 * `herald completion bash|zsh`: a completion script for the shell, generated from the commands and
 * options themselves (so it never falls behind them): command and subcommand names, each command's
 * flags, and the values of flags that take a fixed set (`-o table|json|wide`, `--log-level` …).
 *
 *   source <(herald completion bash)            # bash, this shell
 *   herald completion zsh > "${fpath[1]}/_herald"  # zsh, then restart it
 */
import { Command, type Option } from 'commander';
import { oneOf } from './parse.js';

const SHELLS = ['bash', 'zsh'] as const;
type Shell = (typeof SHELLS)[number];

/** A command as completion sees it: its path (`status set`), subcommands, flags and flag values. */
interface Node {
  readonly path: string;
  readonly subcommands: readonly { name: string; description: string }[];
  readonly options: readonly { flags: readonly string[]; description: string; takesValue: boolean; choices: readonly string[] }[];
}

function nodes(cmd: Command, prefix = ''): Node[] {
  const path = prefix === '' ? '' : prefix;
  const options = [...cmd.options, ...(prefix === '' ? [] : [])].map((o: Option) => ({
    flags: [o.short, o.long].filter((f): f is string => f !== undefined),
    description: o.description,
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
  }));
  const subs = cmd.commands.map((c) => ({ name: c.name(), description: c.description() }));
  const here: Node = { path, subcommands: subs, options: [...options, { flags: ['-h', '--help'], description: 'show help', takesValue: false, choices: [] }] };
  return [here, ...cmd.commands.flatMap((c) => nodes(c, path === '' ? c.name() : `${path} ${c.name()}`))];
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(program: Command): string {
  const all = nodes(program);
  const cases = all.map((n) => {
    const words = [...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => o.flags)].join(' ');
    const valued = n.options.filter((o) => o.takesValue);
    const valueCases = valued.map((o) => `        ${o.flags.join('|')}) COMPREPLY=($(compgen -W ${quote(o.choices.join(' '))} -- "$cur")); return ;;`).join('\n');
    return `    ${quote(n.path)})
      case "$prev" in
${valueCases}
      esac
      COMPREPLY=($(compgen -W ${quote(words)} -- "$cur")) ;;`;
  });
  const known = all.map((n) => n.path).filter((p) => p !== '');
  return `# bash completion for herald (herald completion bash); load with: source <(herald completion bash)
_herald() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i
  # The command path so far: leading words that name a command or subcommand.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) break ;; esac
    case " ${known.map((k) => k.replace(/ /g, '_')).join(' ')} " in
      *" \${path:+\${path}_}$w "*) path="\${path:+$path }$w" ;;
      *) break ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
  esac
}
complete -F _herald herald
`;
}

function zshEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, `'\\''`).replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
}

export function zshScript(program: Command): string {
  const all = nodes(program);
  const fn = (path: string): string => `_herald_${path === '' ? 'root' : path.replace(/[^a-z0-9]+/gi, '_')}`;
  const bodies = all.map((n) => {
    const specs = n.options.map((o) => {
      const names = o.flags.length > 1 ? `'(${o.flags.join(' ')})'{${o.flags.join(',')}}` : `'${o.flags[0] ?? ''}`;
      const open = o.flags.length > 1 ? `'` : '';
      const value = o.takesValue ? (o.choices.length > 0 ? `:value:(${o.choices.join(' ')})` : ':value:') : '';
      return `    ${names}${open}[${zshEscape(o.description)}]${value}'`;
    });
    const subs = n.subcommands.map((s) => `      '${s.name}:${zshEscape(s.description)}'`);
    const dispatch =
      n.subcommands.length === 0
        ? ''
        : `
  if (( CURRENT == 2 )); then
    local -a subcommands
    subcommands=(
${subs.join('\n')}
    )
    _describe -t commands 'command' subcommands && ret=0
  fi
  case \${words[2]} in
${n.subcommands.map((s) => `    ${s.name}) shift words; (( CURRENT-- )); ${fn(n.path === '' ? s.name : `${n.path} ${s.name}`)}; return ;;`).join('\n')}
  esac`;
    return `${fn(n.path)}() {
  local ret=1${dispatch}
  _arguments \\
${specs.join(' \\\n')} \\
    '*::argument:_default' && ret=0
  return ret
}`;
  });
  return `#compdef herald
# zsh completion for herald (herald completion zsh): save as _herald in a directory of $fpath.
${bodies.join('\n\n')}

${fn('')} "$@"
`;
}

export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('print a completion script for bash or zsh')
    .argument('<shell>', `the shell: ${SHELLS.join(' or ')}`, oneOf(SHELLS))
    .addHelpText(
      'after',
      `
Load it:
  bash: source <(herald completion bash)        (or save it under /etc/bash_completion.d/)
  zsh:  herald completion zsh > "\${fpath[1]}/_herald"   (then start a new shell)`,
    )
    .action((shell: Shell) => {
      process.stdout.write(shell === 'bash' ? bashScript(program()) : zshScript(program()));
    });
}
