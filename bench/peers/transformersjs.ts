/**
 * Peer `transformersjs`: transformers.js (@huggingface/transformers) in Node, device 'cpu', dtype fp32: its
 * AutoModelForTokenClassification over our exported ONNX, saved as a local model folder (config.json +
 * onnx/model.onnx in a temporary directory; remote models off). In Node transformers.js runs onnxruntime-node,
 * so this measures what its model layer adds over `ort-node`. `threads` is the session's intraOpNumThreads.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bertFeeds, importPeerPackage, type Peer, type PeerModule } from './peer.js';

interface TjsTensor {
  readonly data: unknown;
}
interface TjsModel {
  (feeds: Record<string, TjsTensor>): Promise<{ logits: TjsTensor }>;
  dispose(): Promise<unknown>;
}
interface Transformers {
  env: {
    version: string;
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    useFSCache: boolean;
  };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => TjsTensor;
  AutoModelForTokenClassification: { from_pretrained(name: string, options: object): Promise<TjsModel> };
}

export const transformersjs: PeerModule = {
  engine: 'transformers.js',
  backend: 'cpu',
  dtype: 'fp32',
  threaded: true,
  async create(model, threads) {
    const tjs = await importPeerPackage<Transformers>(
      '@huggingface/transformers',
      (m) => typeof m.AutoModelForTokenClassification?.from_pretrained === 'function',
    );
    const root = mkdtempSync(join(tmpdir(), 'wgbert-bench-tjs-'));
    try {
      const dir = join(root, 'model');
      mkdirSync(join(dir, 'onnx'), { recursive: true });
      writeFileSync(join(dir, 'onnx', 'model.onnx'), model.onnx);
      const labels = model.labels;
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({
          model_type: 'bert',
          architectures: ['BertForTokenClassification'],
          id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
          label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
        }),
      );
      Object.assign(tjs.env, {
        allowRemoteModels: false,
        allowLocalModels: true,
        localModelPath: root,
        useFSCache: false,
      });
      const m = await tjs.AutoModelForTokenClassification.from_pretrained('model', {
        local_files_only: true,
        device: 'cpu',
        dtype: 'fp32',
        session_options: {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        },
      });
      const peer: Peer = {
        engine: 'transformers.js',
        backend: 'cpu',
        adapter: null,
        version: tjs.env.version,
        async run(input) {
          const { logits } = await m(bertFeeds(tjs.Tensor, input));
          return logits.data as Float32Array;
        },
        async dispose() {
          await m.dispose();
        },
      };
      return peer;
    } finally {
      rmSync(root, { recursive: true, force: true }); // the session holds the model in memory
    }
  },
};
