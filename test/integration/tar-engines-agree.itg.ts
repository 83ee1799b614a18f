/**
 * Hostile and odd archives (test/fixtures/hostile-tar, from three reviews of the GNU tar engine):
 * pax records that two tar readers frame differently, oversized pax headers, GNU sparse names,
 * unknown entry types, a lone zero block, names twice, links that climb out. Whatever each
 * one is, the GNU tar engine must end exactly as the node-tar engine does: both refuse it, or
 * both restore the same tree. Nothing may appear outside the sandbox either way.
 */
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { restoreFiles } from '../../src/sources/files/extract.js';
import { hasGnuTar } from '../../src/sources/files/gnu-tar.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hostile-tar/', import.meta.url));
const quiet = new ConsoleReporter({ write: () => {} });
/**
 * A name stored twice (a file twice; a folder after a file of that name): node-tar lets the
 * last copy win, the GNU tar engine refuses the archive. Our backups never store a name twice;
 * catching it in the node engine would take memory for every file name.
 */
const STRICTER = new Set(['t7.tar.gz', 'r3-d1.tar.gz', 'r3-d5.tar.gz', 'r3-d6.tar.gz']);
/** Unknown entry types (GNU tar would write them as files); an extended header over node-tar's size limit (GNU tar would apply it). */
const MUST_REFUSE = new Set(['t6.tar.gz', 't11.tar.gz', 'r2-c1d.tar.gz' /* a "file" named `a/` whose bytes GNU tar would read as headers */]);
/** Legitimate: files from 1969 and 2300 with sub-second times (GNU tar writes them in pax). */
const MUST_RESTORE = new Set(['r2-negtree.tar.gz']);

/** Every path under root with its type, mode, owner, size and content or link target. */
async function describeTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = await lstat(p);
    const kind = st.isSymbolicLink() ? `link -> ${await readlink(p)}` : st.isFile() ? `file ${st.size} ${(await readFile(p)).toString('hex').slice(0, 32)}` : st.isDirectory() ? 'dir' : 'other';
    out.push(`${rel || '.'} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
    if (st.isDirectory()) for (const c of (await readdir(p)).sort()) await walk(rel ? `${rel}/${c}` : c);
  };
  await walk('');
  return out;
}

type Outcome = { refused: string } | { tree: string[] };

async function restoreWith(engine: 'node' | 'gnu', tar: Buffer, sandbox: string): Promise<Outcome> {
  process.env.STRONGBOX_TAR_ENGINE = engine;
  const target = join(sandbox, 'target');
  try {
    await restoreFiles(Readable.from([tar]), target, { force: false, reporter: quiet });
    return { tree: await describeTree(target) };
  } catch (err) {
    return { refused: (err as Error).constructor.name };
  } finally {
    delete process.env.STRONGBOX_TAR_ENGINE;
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-engines-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!hasGnuTar())('the two tar engines agree on hostile and odd archives', async () => {
  const names = (await readdir(FIXTURES)).filter((n) => n.endsWith('.tar.gz')).sort();
  it.each(names)('%s', async (name) => {
    const tar = gunzipSync(await readFile(join(FIXTURES, name)));
    const outcomes: Outcome[] = [];
    for (const engine of ['node', 'gnu'] as const) {
      const sandbox = join(work, `${name}-${engine}`);
      await rm(sandbox, { recursive: true, force: true });
      await import('node:fs/promises').then((f) => f.mkdir(sandbox, { recursive: true }));
      outcomes.push(await restoreWith(engine, tar, sandbox));
      // Nothing beside the target: no staging left, nothing written through a link that climbs out.
      const beside = (await readdir(sandbox)).filter((n) => n !== 'target');
      expect(beside, `${engine}: left beside the target`).toEqual([]);
    }
    if (process.env.SB_PRINT_OUTCOMES) console.log(name, JSON.stringify(outcomes[0]));
    if (STRICTER.has(name)) {
      expect(outcomes[0]).toHaveProperty('tree');
      expect(outcomes[1]).toHaveProperty('refused');
    } else expect(outcomes[1], `gnu engine against node engine for ${name}`).toEqual(outcomes[0]);
    if (MUST_REFUSE.has(name)) expect(outcomes[1]).toEqual({ refused: 'UnsafeArchiveError' });
    if (MUST_RESTORE.has(name)) expect(outcomes[1]).toHaveProperty('tree');
    // Never a device node or a pipe (t4 hides one behind pax records two readers frame differently).
    for (const o of outcomes) if ('tree' in o) expect(o.tree.filter((l) => / other /.test(l))).toEqual([]);
  });
});
