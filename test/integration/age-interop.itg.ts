/**
 * Interop with the real age CLI (Debian's /usr/bin/age and age-keygen): the escape hatch the
 * README promises — anyone with the identity file restores with `age -d -i key.txt` — and the
 * reverse, files from the CLI opening here. Passphrase mode reads from a terminal only, so
 * those cases run the CLI under `script`, which gives it a pty, and answer its prompts.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, WrongKeyError } from '../../src/shared/errors.js';
import { generateIdentity, identityToRecipient, parseIdentityFile } from '../../src/codecs/age/index.js';
import { decrypt, encrypt } from '../fixtures/age/streams.js';

const run = promisify(execFile);
const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';
const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * 1024 * 1024 + 5];

let dir: string;
let keygenFile: string;
let keygenRecipient: string;

async function age(args: string[]): Promise<Buffer> {
  const { stdout } = await run(AGE, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Runs the age CLI on a pseudo-terminal (util-linux `script`), typing `answer` at each
 * passphrase prompt. Resolves with the exit code and everything it printed.
 */
function ageOnTty(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
  const command = [AGE, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = 0;
  const onOutput = (data: Buffer) => {
    output += data.toString();
    const prompts = output.match(/passphrase[^\n]*:/gi)?.length ?? 0;
    for (; answered < prompts; answered++) child.stdin.write(`${answer}\n`);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongbox-age-'));
  keygenFile = join(dir, 'keygen.txt');
  await run(AGE_KEYGEN, ['-o', keygenFile]);
  keygenRecipient = (await run(AGE_KEYGEN, ['-y', keygenFile])).stdout.trim();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('age CLI interop', () => {
  it('reads age-keygen key files and derives the same public key', async () => {
    const identities = parseIdentityFile(await readFile(keygenFile, 'utf8'));
    expect(identities).toHaveLength(1);
    expect(identityToRecipient(identities[0]!)).toBe(keygenRecipient);
  });

  it('age -d opens our files, with an age-keygen identity and with one from generateIdentity', async () => {
    const ours = generateIdentity();
    const ourKeyFile = join(dir, 'ours.txt');
    await writeFile(ourKeyFile, `# created by Strongbox\n# public key: ${ours.recipient}\n${ours.identity}\n`, { mode: 0o600 });
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      const file = join(dir, `ours-${size}.age`);
      await writeFile(file, await encrypt(plaintext, { recipients: [keygenRecipient, ours.recipient] }));
      for (const keyFile of [keygenFile, ourKeyFile]) {
        expect((await age(['-d', '-i', keyFile, file])).equals(plaintext), `${size} bytes, ${keyFile}`).toBe(true);
      }
    }
  });

  it('opens files age -e writes, to age-keygen and generateIdentity recipients', async () => {
    const ours = generateIdentity();
    const keygenIdentities = parseIdentityFile(await readFile(keygenFile, 'utf8'));
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      const input = join(dir, `plain-${size}`);
      const file = join(dir, `cli-${size}.age`);
      await writeFile(input, plaintext);
      await age(['-e', '-r', ours.recipient, '-r', keygenRecipient, '-o', file, input]);
      const ciphertext = await readFile(file);
      for (const identities of [[ours.identity], keygenIdentities]) {
        const { output, error } = await decrypt(ciphertext, { identities });
        expect(error, `${size} bytes`).toBeUndefined();
        expect(output.equals(plaintext), `${size} bytes`).toBe(true);
      }
      const wrong = await decrypt(ciphertext, { identities: [generateIdentity().identity] });
      expect(wrong.error).toBeInstanceOf(WrongKeyError);
      expect(wrong.output.length).toBe(0);
    }
  });

  it('age -d opens our passphrase files (answering its prompt on a pty)', async () => {
    const plaintext = randomBytes(CHUNK + 3);
    const file = join(dir, 'ours-pass.age');
    const out = join(dir, 'ours-pass.out');
    await writeFile(file, await encrypt(plaintext, { passphrase: 'from strongbox', scryptLogN: 12 }));
    const { code, output } = await ageOnTty(['-d', '-o', out, file], 'from strongbox');
    expect(code, output).toBe(0);
    expect((await readFile(out)).equals(plaintext)).toBe(true);
  });

  it('opens files age -p writes (its default work factor 2^18), and refuses a wrong passphrase', async () => {
    const plaintext = randomBytes(2 * CHUNK);
    const input = join(dir, 'pass-plain');
    const file = join(dir, 'cli-pass.age');
    await writeFile(input, plaintext);
    const { code, output } = await ageOnTty(['-p', '-o', file, input], 'typed at the terminal');
    expect(code, output).toBe(0);
    const ciphertext = await readFile(file);
    expect(ciphertext.toString('latin1', 0, 100)).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/);
    const { output: decrypted, error } = await decrypt(ciphertext, { passphrase: 'typed at the terminal' });
    expect(error).toBeUndefined();
    expect(decrypted.equals(plaintext)).toBe(true);
    const wrong = await decrypt(ciphertext, { passphrase: 'typed at the terminal ' });
    expect(wrong.error).toBeInstanceOf(WrongKeyError);
  });

  it('names the CLI armored output as armored rather than damaged', async () => {
    const input = join(dir, 'armor-plain');
    await writeFile(input, 'armored');
    const armored = await age(['-e', '-a', '-r', keygenRecipient, input]);
    const { error } = await decrypt(armored, { identities: parseIdentityFile(await readFile(keygenFile, 'utf8')) });
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/armored/);
  });
});
