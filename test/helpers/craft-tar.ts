import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type CraftedEntry = { name: string; type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev'; data?: string; link?: string };

/** Builds a tar archive with Python's tarfile, which writes whatever names and links it is given. */
export async function craftTar(entries: CraftedEntry[]): Promise<Buffer> {
  const script = `
import io, json, sys, tarfile
out = io.BytesIO()
with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as t:
    for e in json.loads(sys.stdin.read()):
        ti = tarfile.TarInfo(e['name']); ti.mtime = 1700000000; ti.mode = 0o644
        kind = e.get('type', 'file')
        if kind == 'file':
            data = e.get('data', '').encode(); ti.size = len(data); t.addfile(ti, io.BytesIO(data)); continue
        ti.type = {'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE, 'fifo': tarfile.FIFOTYPE, 'chardev': tarfile.CHRTYPE}[kind]
        if kind == 'dir': ti.mode = 0o755
        if 'link' in e: ti.linkname = e['link']
        t.addfile(ti)
sys.stdout.buffer.write(out.getvalue())
`;
  // The entries on stdin: an argument would limit their data to what argv holds.
  const child = run('python3', ['-c', script], { encoding: 'buffer', maxBuffer: 64 << 20 });
  child.child.stdin!.end(JSON.stringify(entries));
  return (await child).stdout;
}
