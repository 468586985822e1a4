/**
 * What a benchmark ran on and which code it measured, as every report states them: the machine
 * (CPU, cores, memory, Node, OS) and the git commit, with the number of files under src/ that
 * differ from it (read-only git commands; "unknown" outside a git checkout).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryGiB: number;
  readonly nodeVersion: string;
  readonly platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    nodeVersion: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** One line: `AMD EPYC, 2 cores, 23.5 GiB RAM, Node v20.20.2, linux 6.1 x64`. */
export function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.totalMemoryGiB} GiB RAM, Node ${m.nodeVersion}, ${m.platform}`;
}

export interface CodeRevision {
  readonly commit: string;
  /** Files under src/ that differ from the commit (modified or untracked). */
  readonly srcChanges: number;
}

export function codeRevision(): CodeRevision {
  const cwd = fileURLToPath(new URL('../../', import.meta.url));
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd, encoding: 'utf8' });
    return { commit, srcChanges: status.split('\n').filter((l) => l.trim() !== '').length };
  } catch {
    return { commit: 'unknown', srcChanges: 0 };
  }
}

/** `6cfc790` or `6cfc790 + 18 uncommitted change(s) in src/`. */
export function revisionText(r: CodeRevision): string {
  return r.srcChanges === 0 ? r.commit : `${r.commit} + ${r.srcChanges} uncommitted change(s) in src/`;
}
