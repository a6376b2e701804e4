import type { Command } from '../command.ts';
import { checkCommand } from './check.ts';
import { devicesCommand } from './devices.ts';
import { fmtCommand } from './fmt.ts';
import { selfcheckCommand } from './selfcheck.ts';

/** Every subcommand, in the order `swaglet help` lists them. */
export const commands: Command[] = [checkCommand, fmtCommand, devicesCommand, selfcheckCommand];
