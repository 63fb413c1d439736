/**
 * The subset of the ONNX protobuf schema (onnx/onnx.proto, IR version 8 = opset 17) we need to write a
 * BERT graph, with field numbers as in the schema:
 *
 *   ModelProto       ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
 *   OperatorSetId    domain 1, version 2
 *   GraphProto       node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto        input 1, output 2, name 3, op_type 4, attribute 5
 *   AttributeProto   name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3,
 *                    TENSOR 4, FLOATS 6, INTS 7)
 *   TensorProto      dims 1, data_type 2 (FLOAT 1, UINT8 2, INT8 3, INT32 6, INT64 7), name 8,
 *                    raw_data 9 (little-endian; one byte per element for UINT8 / INT8)
 *   ValueInfoProto   name 1, type 2
 *   TypeProto        tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1 | dim_param 2
 */
import { ProtoMessage } from './protobuf.js';

export const FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7;
export type ElemType = typeof FLOAT | typeof UINT8 | typeof INT8 | typeof INT32 | typeof INT64;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | ProtoMessage;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** The typed array each element type is written from (its bytes are raw_data as they are). */
const ARRAY_OF = {
  [FLOAT]: Float32Array,
  [UINT8]: Uint8Array,
  [INT8]: Int8Array,
  [INT32]: Int32Array,
  [INT64]: BigInt64Array,
};

export function tensorProto(
  name: string,
  dims: readonly number[],
  type: ElemType,
  data: Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array,
): ProtoMessage {
  if (!(data instanceof ARRAY_OF[type]))
    throw new TypeError(`tensor ${name}: data does not match element type ${type}`);
  const count = dims.reduce((n, d) => n * d, 1);
  if (data.length !== count) throw new RangeError(`tensor ${name}: ${data.length} elements for dims [${dims}]`);
  const t = new ProtoMessage().packedInts(1, dims).int(2, type).string(8, name);
  return t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function attribute(name: string, v: AttrValue): ProtoMessage {
  const a = new ProtoMessage().string(1, name);
  if (v instanceof ProtoMessage) return a.message(5, v).int(20, 4);
  if (typeof v === 'string') return a.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return a.int(3, v).int(20, 2);
  }
  if (Array.isArray(v)) return a.packedInts(8, v).int(20, 7);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  return a.packedFloats(7, v.floats).int(20, 6);
}

function nodeProto(n: OnnxNode, index: number): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name ?? `${n.op}_${index}`).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.message(5, attribute(k, v));
  return m;
}

/** A graph input/output: name, element type and shape (numbers, or strings for symbolic dims). */
export interface ValueInfo {
  name: string;
  type: ElemType;
  shape: (number | string)[];
}

function valueInfo(v: ValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.shape)
    shape.message(1, typeof d === 'number' ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d));
  const tensorType = new ProtoMessage().int(1, v.type).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: ProtoMessage[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export function modelProto(g: OnnxGraph, opset = 17): Uint8Array {
  const graph = new ProtoMessage();
  g.nodes.forEach((n, i) => graph.message(1, nodeProto(n, i)));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, t);
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  const model = new ProtoMessage()
    .int(1, 8) // IR version 8 (ONNX 1.10+, opset ≤ 17)
    .string(2, 'wgbert-bench')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new ProtoMessage().string(1, '').int(2, opset));
  return model.toBytes();
}
