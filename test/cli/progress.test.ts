/**
 * Progress on a pipe or in a CI log: one line per tenth of each task, stages and log lines as
 * they come; no bar redraws in a file.
 */
import { describe, expect, it } from 'vitest';
import { progressEvents } from '../../cli/progress.ts';

describe('progressEvents without a terminal', () => {
  it('prints a line at each tenth of a task, and stages and logs in order', () => {
    let err = '';
    const events = progressEvents({ out: () => {}, err: (t) => (err += t) }, false);
    events.stage('Training run 1 of 1');
    for (let s = 1; s <= 100; s++) events.progress('run 1', s, 100, `loss ${(1 / s).toFixed(2)}`);
    events.log('run 1: done');
    events.stop();
    const lines = err.split('\n').filter(Boolean);
    expect(lines[0]).toBe('== Training run 1 of 1');
    const progress = lines.filter((l) => l.startsWith('  run 1: '));
    expect(progress).toHaveLength(11); // 1, then every tenth up to 100/100
    expect(progress[0]).toBe('  run 1: 1/100 (loss 1.00)');
    expect(progress.at(-1)).toBe('  run 1: 100/100 (loss 0.01)');
    expect(lines.at(-1)).toBe('run 1: done');
    expect(err).not.toMatch(/\u001b\[/); // no terminal escapes
  });
});
