import { main } from '../../cli/main.ts';

/** Runs the CLI in-process with captured output, as a user's shell would see it. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}
