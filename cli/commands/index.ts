import type { Command } from '../command.ts';

/** Every subcommand, in the order `swaglet help` lists them. */
export const commands: Command[] = [];
