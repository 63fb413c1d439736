/**
 * The benchmark's peers by name (`--peers`): the same weights run by other engines, for time and logits.
 *   ort-node         onnxruntime-node, CPU EP          (alias: ort)
 *   ort-node-webgpu  onnxruntime-node, WebGPU EP       (alias: ort-webgpu)
 *   ort-web          onnxruntime-web, wasm EP, in Node
 *   ort-web-webgpu   onnxruntime-web, WebGPU EP, in Node on Dawn
 *   transformersjs   transformers.js, cpu device (onnxruntime-node underneath)
 * All live in bench/node_modules: `npm run bench:setup`.
 */
import type { PeerModule } from './peer.js';
import { ortNode } from './ort-node.js';
import { ortNodeWebgpu } from './ort-node-webgpu.js';
import { ortWeb } from './ort-web.js';
import { ortWebWebgpu } from './ort-web-webgpu.js';
import { transformersjs } from './transformersjs.js';

export const PEERS = {
  'ort-node': ortNode,
  'ort-node-webgpu': ortNodeWebgpu,
  'ort-web': ortWeb,
  'ort-web-webgpu': ortWebWebgpu,
  transformersjs,
} satisfies Record<string, PeerModule>;

export type PeerName = keyof typeof PEERS;
export const PEER_NAMES = Object.keys(PEERS) as PeerName[];
const ALIASES: Record<string, PeerName> = { ort: 'ort-node', 'ort-webgpu': 'ort-node-webgpu' };

/** `--peers` names, aliases resolved, duplicates dropped; an unknown name is an Error listing the valid ones. */
export function parsePeers(names: readonly string[]): PeerName[] {
  const out: PeerName[] = [];
  for (const n of names) {
    const name = ALIASES[n] ?? n;
    if (!(name in PEERS))
      throw new Error(
        `--peers: unknown peer "${n}" (valid: ${PEER_NAMES.join(', ')}; ort = ort-node, ort-webgpu = ort-node-webgpu)`,
      );
    if (!out.includes(name as PeerName)) out.push(name as PeerName);
  }
  return out;
}

export type { Peer, PeerModel, PeerModule } from './peer.js';
