import { readFile, readdir, stat } from 'node:fs/promises';

/**
 * Which other processes have one of `paths` open, read from /proc (Linux; elsewhere, and for
 * processes of other users we may not inspect, nothing is found). Compared by device and inode,
 * so a second path to the same file is caught too. A restore must not swap a database out
 * from under a process that has it open: that process would go on using the old file (and
 * its -wal and -shm, which are found by name) while new connections use the new one.
 */
export interface OpenBy {
  pid: number;
  command: string;
}

/** The in-use check as the restore calls it (a parameter, so a test can stand for a process /proc cannot see). */
export type InUseCheck = (paths: string[]) => Promise<OpenBy[]>;

export async function processesUsing(paths: string[], procRoot = '/proc'): Promise<OpenBy[]> {
  const wanted = new Set<string>();
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st) wanted.add(`${st.dev}:${st.ino}`);
  }
  if (!wanted.size) return [];
  const pids = (await readdir(procRoot).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const found: OpenBy[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const st = await stat(`${procRoot}/${pid}/fd/${fd}`).catch(() => undefined);
        if (st && wanted.has(`${st.dev}:${st.ino}`)) {
          const command = (await readFile(`${procRoot}/${pid}/comm`, 'utf8').catch(() => '?')).trim();
          found.push({ pid: Number(pid), command });
          return;
        }
      }
    }),
  );
  return found.sort((a, b) => a.pid - b.pid);
}
