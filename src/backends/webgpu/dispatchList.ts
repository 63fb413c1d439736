/**
 * A forward pass's dispatches, kept: the kernels' record functions write into a `DispatchList` (it has a
 * compute pass's three methods, runtime.ts's `DispatchSink`) instead of a pass, and the backend encodes the
 * list into a compute pass when it submits — once for a fresh recording, and again for every later forward of
 * the same shape (./plan.ts), which then costs only setPipeline / setBindGroup / dispatchWorkgroups per
 * dispatch: no pipeline lookup, no uniform or bind-group cache, no buffer pool.
 *
 * One command buffer per forward: submitting it in a few chunks, so that the GPU starts while the host
 * encodes the rest, was measured and bought nothing (docs/webgpu-host.md).
 */
import type { DispatchSink } from '../../kernels/webgpu/runtime.js';

/** One dispatch: the pipeline, its bind group 0 and the workgroup counts. */
export interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export class DispatchList implements DispatchSink {
  readonly dispatches: Dispatch[] = [];
  private pipeline: GPUComputePipeline | undefined;
  private bindGroup: GPUBindGroup | undefined;

  setPipeline(pipeline: GPUComputePipeline): void {
    this.pipeline = pipeline;
  }

  setBindGroup(index: number, bindGroup: GPUBindGroup): void {
    if (index !== 0) throw new Error(`internal: a dispatch list keeps bind group 0 only, got ${index}`);
    this.bindGroup = bindGroup;
  }

  dispatchWorkgroups(x: number, y = 1, z = 1): void {
    const { pipeline, bindGroup } = this;
    if (!pipeline || !bindGroup) throw new Error('internal: dispatch before setPipeline / setBindGroup');
    this.dispatches.push({ pipeline, bindGroup, x, y, z });
  }

  get length(): number {
    return this.dispatches.length;
  }

  /** Encodes dispatches [from, to) into `pass` (setPipeline / setBindGroup only where they change). */
  encode(pass: DispatchSink, from = 0, to = this.dispatches.length): void {
    let pipeline: GPUComputePipeline | undefined;
    let bindGroup: GPUBindGroup | undefined;
    for (let i = from; i < to; i++) {
      const d = this.dispatches[i]!;
      if (d.pipeline !== pipeline) pass.setPipeline((pipeline = d.pipeline));
      if (d.bindGroup !== bindGroup) pass.setBindGroup(0, (bindGroup = d.bindGroup));
      pass.dispatchWorkgroups(d.x, d.y, d.z);
    }
  }

  /**
   * Encodes the list as one compute pass of a new command encoder, `last` records after the pass (the
   * copy of the logits, the timestamps' resolve), and submits it. `timing`: the pass's timestamps.
   */
  submit(
    device: GPUDevice,
    timing: GPUComputePassTimestampWrites | undefined,
    last: (encoder: GPUCommandEncoder) => void,
  ): void {
    const encoder = device.createCommandEncoder({ label: 'wgbert forward' });
    const pass = encoder.beginComputePass({ label: 'wgbert forward', ...(timing && { timestampWrites: timing }) });
    this.encode(pass);
    pass.end();
    last(encoder);
    device.queue.submit([encoder.finish()]);
  }
}
