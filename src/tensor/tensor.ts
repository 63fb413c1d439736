/**
 * The runtime's one array type: a float32 tensor, row-major, with its shape. Weights of any stored dtype
 * are converted to float32 on load (exactly: see dtype.ts), activations are float32 throughout.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  constructor(shape: readonly number[], data?: Float32Array) {
    const size = numel(shape);
    if (data !== undefined && data.length !== size) {
      throw new RangeError(`tensor data has ${data.length} elements, shape [${shape.join(', ')}] needs ${size}`);
    }
    this.shape = Object.freeze([...shape]);
    this.data = data ?? new Float32Array(size);
  }

  get size(): number {
    return this.data.length;
  }

  /** Same data, another shape of the same size. */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(shape, this.data);
  }

  toString(): string {
    return `Tensor[${this.shape.join(', ')}]`;
  }
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
