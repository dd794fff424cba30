/**
 * A real small filesystem for disk-full tests: a tmpfs mounted by the test (Linux, root or CAP_SYS_ADMIN). Where
 * mounting is not permitted, `mountTmpfs` returns the reason and the caller skips, printing it.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Mounted = { dir: string; unmount: () => void } | { skip: string };

/** Mounts a tmpfs of `bytes` at a new directory, or returns why it cannot. */
export function mountTmpfs(bytes: number, what: string): Mounted {
  if (process.platform !== 'linux') return report(what, `tmpfs needs Linux (this is ${process.platform})`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const why = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim() || 'mount failed';
    return report(what, `cannot mount a tmpfs here (${why}; needs root or CAP_SYS_ADMIN)`);
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function report(what: string, skip: string): Mounted {
  console.warn(`${what} skipped: ${skip}`);
  return { skip };
}

/** Fills the filesystem of `dir` until about `free` bytes are left; returns the ballast file (delete it to free the space). */
export function fillUntil(dir: string, free: number): string {
  const ballast = path.join(dir, `ballast-${process.pid}-${Date.now()}`);
  const st = statfsSync(dir);
  const fd = openSync(ballast, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let left = Math.max(0, Math.floor(st.bavail * st.bsize - free));
    while (left > 0) left -= writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
  return ballast;
}
