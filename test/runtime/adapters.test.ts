import { describe, expect, it } from 'vitest';
import { INSTALL_HINT, NoAdapterError, openDevice, resolveBackend } from '../../runtime/index.ts';

describe('adapter choice', () => {
  it('rejects an unknown backend name, listing the valid ones', () => {
    expect(() => resolveBackend('cuda' as never)).toThrow(/Unknown backend 'cuda'.*auto, vulkan, metal, d3d12, opengles, null/);
  });

  it('takes SWAGLET_BACKEND when no option is given', () => {
    const saved = process.env.SWAGLET_BACKEND;
    process.env.SWAGLET_BACKEND = 'opengles';
    try {
      expect(resolveBackend()).toBe('opengles');
      expect(resolveBackend('null')).toBe('null');
    } finally {
      if (saved === undefined) delete process.env.SWAGLET_BACKEND;
      else process.env.SWAGLET_BACKEND = saved;
    }
  });

  it('names the packages to install when no adapter opens', () => {
    expect(INSTALL_HINT).toMatch(/libvulkan1/);
    expect(INSTALL_HINT).toMatch(/apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri/);
  });

  it('either opens a forced Vulkan adapter or says what to install', async () => {
    // On this CPU machine there is no Vulkan; on a GPU machine there is. Both outcomes are checked.
    try {
      const device = await openDevice({ backend: 'vulkan' });
      expect(device.report.backend).toBe('vulkan');
      device.destroy();
    } catch (e) {
      expect(e).toBeInstanceOf(NoAdapterError);
      expect((e as Error).message).toMatch(/apt-get install/);
      expect((e as Error).message).toMatch(/Tried: vulkan\/core/);
    }
  });

  it('opens the CPU path when forced to OpenGL ES', async () => {
    const device = await openDevice({ backend: 'opengles' });
    expect(device.report.backend).toBe('opengles');
    expect(device.report.featureLevel).toBe('compatibility');
    device.destroy();
  });
});
