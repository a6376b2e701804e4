/**
 * Ctrl-C and SIGTERM during a long command: the first asks the work to stop at its next safe
 * point (training: the next step boundary, with a checkpoint there); a second stops at once,
 * after restoring the terminal (a progress bar hides the cursor while it draws).
 */
import type { CliIO } from './command.ts';

export interface StopSignals {
  /** True once SIGINT or SIGTERM arrived. */
  requested(): boolean;
  /** The exit code for the signal that arrived: 130 (SIGINT) or 143 (SIGTERM). */
  exitCode(): number;
  dispose(): void;
}

const SHOW_CURSOR = '\u001b[?25h';

export function listenForStop(io: CliIO, restoreTerminal: () => void): StopSignals {
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) {
      // Second signal: stop now, leaving the terminal usable.
      restoreTerminal();
      if (process.stderr.isTTY) process.stderr.write(SHOW_CURSOR);
      dispose();
      process.kill(process.pid, s);
      return;
    }
    signal = s;
    restoreTerminal();
    io.err(`\nswaglet: ${s} received: stopping at the next safe point (send it again to stop at once)\n`);
  };
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => signal !== undefined,
    exitCode: () => (signal === 'SIGTERM' ? 143 : 130),
    dispose,
  };
}
