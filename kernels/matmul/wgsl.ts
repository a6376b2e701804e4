import type { KernelSpec } from '../../runtime/kernel.ts';
import { type MatmulConfig, configName, configProblem } from './config.ts';
import { type MatmulVariant, bindingKinds, variantKey } from './variant.ts';
import { Lines, checkActivation, emitPrelude } from './wgsl-common.ts';
import { emitRegisterMain } from './wgsl-register.ts';
import { emitSharedMain } from './wgsl-shared.ts';

/**
 * The WGSL of one matmul kernel. A pure function of its inputs: the same config and variant
 * always give byte-identical text (so the runtime's pipeline cache hits).
 */
export function buildMatmulWgsl(config: MatmulConfig, variant: MatmulVariant): string {
  const problem = configProblem(config);
  if (problem) throw new Error(`matmul: invalid config ${configName(config)}: ${problem}`);
  if (variant.activation) checkActivation(variant.activation);
  const w = new Lines();
  emitPrelude(w, config, variant);
  w.line();
  if (config.kind === 'register') emitRegisterMain(w, config, variant);
  else emitSharedMain(w, config, variant);
  return `${w.text()}\n`;
}

/** The kernel spec the runtime compiles: label, WGSL and binding kinds. */
export function matmulKernelSpec(config: MatmulConfig, variant: MatmulVariant): KernelSpec {
  return {
    label: `matmul.${configName(config)}.${variantKey(variant)}`,
    wgsl: buildMatmulWgsl(config, variant),
    bindings: bindingKinds(variant),
  };
}
