/**
 * Progress for long work: a cli-progress bar per task on a terminal, and on a pipe or CI log a
 * line at every tenth of each task (bars redrawn into a log file are unreadable).
 */
import cliProgress from 'cli-progress';
import type { ExperimentEvents } from '../experiment/run.ts';
import type { CliIO } from './command.ts';

export function progressEvents(io: CliIO, tty = Boolean(process.stderr.isTTY)): ExperimentEvents & { stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  let task = '';
  let lastTenth = -1;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    stage(title) {
      stopBar();
      task = '';
      io.err(`\n== ${title}\n`);
    },
    log(line) {
      stopBar();
      task = '';
      io.err(`${line}\n`);
    },
    progress(name, done, total, detail) {
      if (tty) {
        if (name !== task || !bar) {
          stopBar();
          task = name;
          bar = new cliProgress.SingleBar(
            { format: `${name.padEnd(18)} {bar} {percentage}% | {value}/{total} | {eta_formatted} left | {detail}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done, { detail: detail ?? '' });
        } else bar.update(done, { detail: detail ?? '' });
        if (done >= total) stopBar();
        return;
      }
      if (name !== task) {
        task = name;
        lastTenth = -1;
      }
      const tenth = Math.floor((10 * done) / total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.err(`  ${name}: ${done}/${total}${detail ? ` (${detail})` : ''}\n`);
      }
    },
    stop: stopBar,
  };
}
