/**
 * The last lines a run printed (masked, without timestamps), for the healthcheck's log and
 * for the event's error when a command printed its failure instead of throwing it. One for
 * the CLI and the actions alike.
 */
export class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 30) {}
  add(text: string): void {
    for (const line of text.split('\n')) {
      this.lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  get(): string[] {
    return [...this.lines];
  }
  /** The last `error:` line printed: the failure's message when the command did not throw. */
  lastError(): string | undefined {
    return [...this.lines].reverse().find((l) => l.startsWith('error: '))?.slice('error: '.length);
  }
}
