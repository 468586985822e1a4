/**
 * Which code was measured: the git commit and whether src/ had uncommitted changes (read-only git
 * commands; "unknown" outside a git checkout).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/** `6cfc790` or `6cfc790 + 18 uncommitted changes in src/`. */
export function revisionText(r: CodeRevision): string {
  return r.srcChanges === 0 ? r.commit : `${r.commit} + ${r.srcChanges} uncommitted change(s) in src/`;
}
