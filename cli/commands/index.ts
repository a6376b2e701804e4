import type { Command } from '../command.ts';
import { devicesCommand } from './devices.ts';

/** Every subcommand, in the order `swaglet help` lists them. */
export const commands: Command[] = [devicesCommand];
