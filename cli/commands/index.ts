import type { Command } from '../command.ts';
import { checkCommand } from './check.ts';
import { compileCommand } from './compile.ts';
import { devicesCommand } from './devices.ts';
import { demoCommand, evalCommand, trainCommand } from './experiment.ts';
import { fmtCommand } from './fmt.ts';
import { selfcheckCommand } from './selfcheck.ts';

/** Every subcommand, in the order `swaglet help` lists them. */
export const commands: Command[] = [checkCommand, compileCommand, fmtCommand, trainCommand, evalCommand, demoCommand, devicesCommand, selfcheckCommand];
