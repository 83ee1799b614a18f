import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';

/** The verify action given several `from` lines, or a `config` with two destinations: one verify across them. */
const work = mkdtempSync(join(tmpdir(), 'strongbox-verify-across-'));
const saved = { ...process.env };
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('verify action across locations', () => {
  it('two from lines, or the config file\'s destinations: ok and consistent; one damaged copy: ok false, exit-code 3, the problem names its location', async () => {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'a.txt'), 'hello\n');
    const [a, b] = [join(work, 'a'), join(work, 'b')];
    captureLog();
    let out = runnerEnv(work, 'action.yml', { to: `${a}\n${b}`, init: 'true', files: tree, unencrypted: 'true' });
    await runBackupAction();
    const id = outputs(out)['backup-id']!;
    expect(outputs(out).status).toBe('success');

    out = runnerEnv(work, 'actions/verify/action.yml', { from: `${a}\n${b}` });
    await runVerifyAction();
    expect(outputs(out)).toMatchObject({ ok: 'true', consistent: 'true', 'backup-id': id, status: 'success', 'exit-code': '0' });

    const config = join(work, 'strongbox.yml');
    writeFileSync(config, 'destinations:\n  - url: a\n  - url: b\n');
    out = runnerEnv(work, 'actions/verify/action.yml', { config });
    await runVerifyAction();
    expect(outputs(out)).toMatchObject({ ok: 'true', consistent: 'true', 'backup-id': id });

    const object = join(b, id, readdirSync(join(b, id)).find((f) => f.endsWith('.tar.zst'))!);
    writeFileSync(object, 'not the stored bytes');
    out = runnerEnv(work, 'actions/verify/action.yml', { config });
    await runVerifyAction();
    const o = outputs(out);
    expect(o).toMatchObject({ ok: 'false', status: 'failure', 'exit-code': '3' });
    expect(JSON.parse(o.problems!)).toEqual(expect.arrayContaining([expect.objectContaining({ location: b })]));
    expect(JSON.parse(o.problems!).some((p: { location: string }) => p.location === a)).toBe(false);
    expect(process.exitCode).toBe(1);
  });
});
