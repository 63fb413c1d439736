/**
 * The benchmark's peers by name (`--peers`): the same weights run by other engines, for time and logits.
 *   ort-node         onnxruntime-node, CPU EP          (alias: ort)
 *   ort-node-int8    onnxruntime-node, CPU EP, the int8 export (dtype q8)
 *   ort-node-webgpu  onnxruntime-node, WebGPU EP       (alias: ort-webgpu)
 *   ort-web          onnxruntime-web, wasm EP, in Node
 *   ort-web-int8     onnxruntime-web, wasm EP, the int8 export (dtype q8)
 *   ort-web-webgpu   onnxruntime-web, WebGPU EP, in Node on Dawn
 *   transformersjs   transformers.js, cpu device (onnxruntime-node underneath)
 * All live in bench/node_modules: `npm run bench:setup`.
 */
import type { RecordDtype } from '../record.js';
import type { PeerModule } from './peer.js';
import { ortNode, ortNodeInt8 } from './ort-node.js';
import { ortNodeWebgpu } from './ort-node-webgpu.js';
import { ortWeb, ortWebInt8 } from './ort-web.js';
import { ortWebWebgpu } from './ort-web-webgpu.js';
import { transformersjs } from './transformersjs.js';

export const PEERS = {
  'ort-node': ortNode,
  'ort-node-int8': ortNodeInt8,
  'ort-node-webgpu': ortNodeWebgpu,
  'ort-web': ortWeb,
  'ort-web-int8': ortWebInt8,
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

/** The same engine and backend at another dtype: ort-node ↔ ort-node-int8, ort-web ↔ ort-web-int8. */
const VARIANTS: Partial<Record<PeerName, Partial<Record<RecordDtype, PeerName>>>> = {
  'ort-node': { q8: 'ort-node-int8' },
  'ort-web': { q8: 'ort-web-int8' },
};

/**
 * The peers to run for `--peers` and `--dtype`: each named peer at every listed dtype it has (ort-node at
 * fp32 and q8 is ort-node and ort-node-int8), in --peers order, the dtypes of one peer together. A peer
 * named at its own dtype (ort-node-int8) runs as named. `skipped`: named peers with none of the dtypes.
 */
export function peersForDtypes(
  peers: readonly PeerName[],
  dtypes: readonly RecordDtype[],
): { peers: PeerName[]; skipped: PeerName[] } {
  const out: PeerName[] = [];
  const skipped: PeerName[] = [];
  const add = (p: PeerName) => {
    if (!out.includes(p)) out.push(p);
  };
  for (const p of peers) {
    const own = PEERS[p].dtype;
    const variants = VARIANTS[p];
    if (own !== 'fp32' || variants === undefined) {
      // A dtype-specific name, or a peer with one dtype only.
      if (own !== 'fp32' || dtypes.includes(own)) add(p);
      else skipped.push(p);
      continue;
    }
    const at = dtypes.map((d) => (d === own ? p : variants[d])).filter((v): v is PeerName => v !== undefined);
    if (at.length === 0) skipped.push(p);
    at.forEach(add);
  }
  return { peers: out, skipped };
}

export type { Peer, PeerModel, PeerModule } from './peer.js';
