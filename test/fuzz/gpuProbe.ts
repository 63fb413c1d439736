/**
 * A transparent wrapper around a WebGPU `GPU` for the reliability tests:
 *   - counts the buffers every device it opens creates and destroys (live GPU buffers, independent of the
 *     backend's own bookkeeping),
 *   - can make devices report smaller limits than they have (maxBufferSize, maxStorageBufferBindingSize…),
 *     so "bigger than the device allows" is testable on a machine whose GPU allows 1 GiB,
 *   - keeps the devices it opened, so a test can destroy one mid-run (simulated device loss).
 * Register it with setGpuProvider(() => probe.gpu) (pipeline()/loadModel take the provider's GPU) or pass
 * probe.gpu to the WebGPU backend's `gpu` option. Objects are proxied with methods bound to the real object,
 * so Dawn only ever sees its own objects.
 */
export interface GpuProbe {
  gpu: GPU;
  /** Devices opened through this GPU, oldest first. */
  readonly devices: GPUDevice[];
  /** Buffers created and not yet destroyed (explicitly, or with their device). */
  readonly liveBuffers: number;
  readonly createdBuffers: number;
}

type Limits = Partial<Record<string, number>>;

function bindAll<T extends object>(target: T, overrides: Record<string | symbol, unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as string];
      const v = Reflect.get(t, prop, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

export function probeGpu(real: GPU, opts: { limits?: Limits } = {}): GpuProbe {
  const devices: GPUDevice[] = [];
  const live = new Set<GPUBuffer>();
  const byDevice = new Map<GPUDevice, Set<GPUBuffer>>();
  let created = 0;

  const wrapDevice = (device: GPUDevice): GPUDevice => {
    const mine = new Set<GPUBuffer>();
    byDevice.set(device, mine);
    const limits = opts.limits ? bindAll(device.limits, opts.limits as Record<string, unknown>) : device.limits;
    const wrapped = bindAll(device, {
      limits,
      createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
        const b = device.createBuffer(desc);
        created++;
        live.add(b);
        mine.add(b);
        const destroy = b.destroy.bind(b);
        Object.defineProperty(b, 'destroy', {
          value: () => {
            live.delete(b);
            mine.delete(b);
            destroy();
          },
          configurable: true,
        });
        return b;
      },
      destroy(): void {
        for (const b of mine) live.delete(b);
        mine.clear();
        device.destroy();
      },
    });
    devices.push(wrapped);
    return wrapped;
  };

  const wrapAdapter = (adapter: GPUAdapter): GPUAdapter =>
    bindAll(adapter, {
      async requestDevice(desc?: GPUDeviceDescriptor): Promise<GPUDevice> {
        return wrapDevice(await adapter.requestDevice(desc));
      },
    });

  const gpu = bindAll(real, {
    async requestAdapter(o?: GPURequestAdapterOptions): Promise<GPUAdapter | null> {
      const a = await real.requestAdapter(o);
      return a === null ? null : wrapAdapter(a);
    },
  });

  return {
    gpu,
    devices,
    get liveBuffers() {
      return live.size;
    },
    get createdBuffers() {
      return created;
    },
  };
}

/** Resolves with `p`, or rejects after `ms` with a message saying what hung. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
