import type { Command } from '../command.ts';
import { checkCommand } from './check.ts';
import { compileCommand } from './compile.ts';
import { devicesCommand } from './devices.ts';
import { demoCommand, evalCommand, k8sCommand, predictCommand, trainCommand, workerCommand } from './experiment.ts';
import { fmtCommand } from './fmt.ts';
import { profileCommand } from './profile.ts';
import { selfcheckCommand } from './selfcheck.ts';

/** Every subcommand, in the order `swaglet help` lists them. */
export const commands: Command[] = [checkCommand, compileCommand, fmtCommand, trainCommand, evalCommand, predictCommand, demoCommand, workerCommand, k8sCommand, devicesCommand, profileCommand, selfcheckCommand];
