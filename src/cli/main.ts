import { Command, CommanderError } from 'commander';
import { ConsoleReporter, type ConsoleReporterOptions } from '../shared/reporter.js';
import { ExitCode, StrongboxError, errorMessage } from '../shared/errors.js';
import { VERSION } from '../version.js';
import { quietAwsNodeVersionWarning } from '../shared/aws-warning.js';
import { CANCEL_EXIT_CODES, cancellation, cancellationLine } from '../shared/cancel.js';
import { forcedExitUnderway, handleCancelSignals } from '../shared/signals.js';
import type { Operation } from '../notify/event.js';
import type { RunMonitor } from '../notify/monitor.js';
import { registerCommands, type CliContext } from './commands.js';
import { NOTIFYING_COMMANDS, notifyOptions, startCliMonitor } from './notify-flags.js';
import { LogTail } from '../notify/log-tail.js';

/**
 * `strongbox` — the same operations as the actions, from a terminal (for when GitHub itself
 * is down). Human messages go to stderr; `--json` puts one result object on stdout.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: { terminal?: boolean; now?: () => Date } = {}): Promise<number> {
  quietAwsNodeVersionWarning();
  ignoreOutputErrors();
  const tail = new LogTail();
  // On a terminal a person watches: progress redrawn in place, no timestamps. Anywhere else
  // (cron mail, CI logs, a file) lines are read later: each says when, and progress is a line per 15 s.
  const terminal = io.terminal ?? !!process.stderr.isTTY;
  const reporterOptions: ConsoleReporterOptions = {
    verbose: !!env.STRONGBOX_DEBUG,
    timestamps: !terminal,
    now: io.now,
    progress: terminal ? 'terminal' : 'log',
    progressIntervalMs: progressInterval(env.STRONGBOX_PROGRESS_INTERVAL_MS),
    onLine: (line) => tail.add(line),
  };
  const reporter = new ConsoleReporter(reporterOptions);
  const program = new Command('strongbox')
    .version(VERSION)
    .description('Backup, verify and restore PostgreSQL databases and file trees to local folders and S3-compatible storage.')
    .option('-q, --quiet', 'no progress and no informational lines; warnings, errors and results still print (also after the command: strongbox backup --quiet …)')
    .option('--verbose', 'also print debug lines (why no alert fired, each notification delivered …); the same as STRONGBOX_DEBUG=1')
    .exitOverride()
    .configureOutput({ writeErr: (s) => reporter.writeErr(s), writeOut: (s) => process.stdout.write(s) })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)');
  // Program options are read after and before the command's name alike; applied before it runs.
  program.hook('preAction', () => {
    if (program.opts().quiet) reporter.quiet = true;
    if (program.opts().verbose) reporterOptions.verbose = true;
  });
  const ctx: CliContext = { reporter, env, exitCode: ExitCode.ok as number };
  registerCommands(program, ctx);
  for (const c of program.commands) if ((NOTIFYING_COMMANDS as readonly string[]).includes(c.name())) notifyOptions(c);
  // Started once the command's options are parsed (a bad notify URL exits 2 before any work);
  // finished below with the exit code, whatever ended the command.
  let monitor: RunMonitor | undefined;
  program.hook('preAction', async (_program, action) => {
    if (action.parent === program && (NOTIFYING_COMMANDS as readonly string[]).includes(action.name())) {
      monitor = await startCliMonitor(action.name() as Operation, action.opts(), env, reporter, tail);
    }
  });
  const command = argv.find((a) => !a.startsWith('-')) ?? 'strongbox';
  const uninstall = handleCancelSignals({ what: command, print: (line) => reporter.notice(line) });
  let ended: { code: number; error?: { message: string; hint?: string } };
  try {
    ended = await run();
  } finally {
    uninstall();
  }
  if (monitor) {
    const error = ended.error ?? (ended.code !== ExitCode.ok && tail.lastError() ? { message: tail.lastError()! } : undefined);
    await monitor.finish({ exitCode: ended.code, outcome: ctx.outcome, error });
  }
  return ended.code;

  async function run(): Promise<typeof ended> {
    try {
      await program.parseAsync(argv, { from: 'user' });
      const late = cancellation();
      // The signal came after the commit point: the result stands, and is what we report.
      if (late) reporter.warning(`${late.signal} arrived after the ${command} had completed; its result stands`);
      return { code: ctx.exitCode };
    } catch (err) {
      // Whatever error the teardown produced, a cancelled run ends with one line saying so.
      const cancelled = cancellation();
      if (cancelled) {
        const line = cancellationLine(command)!;
        // A second signal already printed the one line and is exiting: not a second copy.
        if (!forcedExitUnderway()) reporter.notice(line);
        if (reporterOptions.verbose) reporter.debug(`after cancellation: ${errorMessage(err)}`);
        return { code: CANCEL_EXIT_CODES[cancelled.signal], error: { message: line } };
      }
      if (err instanceof CommanderError) {
        return { code: err.exitCode === 0 ? ExitCode.ok : ExitCode.usage, error: { message: err.message } };
      }
      if (err instanceof StrongboxError) {
        reporter.error(err.message);
        if (err.hint) reporter.notice(`hint: ${err.hint}`);
        return { code: err.exitCode, error: { message: err.message, hint: err.hint } };
      }
      reporter.error(`unexpected failure: ${errorMessage(err)}`);
      if (reporterOptions.verbose && err instanceof Error && err.stack) reporter.info(err.stack);
      return { code: ExitCode.failure, error: { message: `unexpected failure: ${errorMessage(err)}` } };
    }
  }
}

/**
 * STRONGBOX_PROGRESS_INTERVAL_MS: a test and diagnostic knob (README "Progress and timing"):
 * how often progress is drawn, instead of 250 ms on a terminal and 15 s elsewhere.
 */
function progressInterval(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : undefined;
}

let outputGuarded = false;
/**
 * A reader that went away (`strongbox verify … | head -1`: EPIPE) must not crash the run: an
 * unhandled 'error' on stdout/stderr would kill it mid-operation, before its cleanup (locks,
 * partial objects) and with the wrong exit code. Output is best effort; the operation is not.
 */
function ignoreOutputErrors(): void {
  if (outputGuarded) return;
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}
