"""Synthetic BERT checkpoints and inputs in numpy, for the GPU run's PyTorch phase (bench/gpu/run).

A vectorised port of src/bert/synth.ts, which implements the fixtures' synth/SPEC.md (version wgbert-synth-v1):
every tensor value is a hash of the tensor's name and flat index, computed in uint32 arithmetic (numpy wraps
uint32 products mod 2^32, as Math.imul does), turned into a float64 in [-1, 1) and rounded once to float32.
The inputs are synthInputs of src/bert/synth.ts (SPEC section 3): row r of a batch has seq - 5r tokens,
[CLS] ids... [SEP], then right padding (id 0, attention mask 0); token types 0.

Command line (used by the run and by test/bench.gpu.test.ts):
  python3 synth.py check MODEL EXPECTED.json   hash the tensors EXPECTED.json lists for MODEL; one JSON line
  python3 synth.py inputs MODEL SEQ BATCH      the input ids and attention mask as JSON
"""

import hashlib
import json
import sys
import time

import numpy as np

SEED = "wgbert-synth-v1"

# SPEC section 2 (and SYNTH_CONFIGS in src/bert/synth.ts).
CONFIGS = {
    "synth-base": dict(V=28996, H=768, L=12, heads=12, I=3072, P=512, T=2, C=9),
    "synth-large": dict(V=28996, H=1024, L=24, heads=16, I=4096, P=512, T=2, C=9),
    "synth-odd": dict(V=1000, H=72, L=3, heads=6, I=200, P=64, T=2, C=5),
}

CHUNK = 1 << 22  # elements hashed at a time: bounds the float64 temporaries to a few tens of MB


def fnv1a32(text):
    """32-bit FNV-1a of the UTF-8 bytes of text."""
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def fmix32(h):
    """The murmur3 finaliser on a uint32 array (a new array)."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def tensor_names(cfg):
    """(name, shape) of every tensor, in Hugging Face state-dict order (SPEC section 1)."""
    V, H, L, I, P, T, C = (cfg[k] for k in ("V", "H", "L", "I", "P", "T", "C"))
    out = [
        ("bert.embeddings.word_embeddings.weight", [V, H]),
        ("bert.embeddings.position_embeddings.weight", [P, H]),
        ("bert.embeddings.token_type_embeddings.weight", [T, H]),
        ("bert.embeddings.LayerNorm.weight", [H]),
        ("bert.embeddings.LayerNorm.bias", [H]),
    ]
    for n in range(L):
        p = f"bert.encoder.layer.{n}"
        for name, o, i in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
        ]:
            out += [(f"{p}.{name}.weight", [o, i]), (f"{p}.{name}.bias", [o])]
        out += [(f"{p}.attention.output.LayerNorm.weight", [H]), (f"{p}.attention.output.LayerNorm.bias", [H])]
        out += [(f"{p}.intermediate.dense.weight", [I, H]), (f"{p}.intermediate.dense.bias", [I])]
        out += [(f"{p}.output.dense.weight", [H, I]), (f"{p}.output.dense.bias", [H])]
        out += [(f"{p}.output.LayerNorm.weight", [H]), (f"{p}.output.LayerNorm.bias", [H])]
    out += [("classifier.weight", [C, H]), ("classifier.bias", [C])]
    return out


def value_rule(name):
    """(offset, scale) of SPEC section 1's value rule for this tensor name."""
    if name.endswith(".LayerNorm.weight"):
        return 1.0, 0.1
    if name.endswith(".LayerNorm.bias"):
        return 0.0, 0.05
    if name.endswith(".bias"):
        return 0.0, 0.02
    return 0.0, 0.05


def synth_tensor(name, shape):
    """One tensor's values as float32 (row-major, flat index k)."""
    n = int(np.prod(shape))
    seed = np.uint32(fnv1a32(f"{SEED}:{name}"))
    offset, scale = value_rule(name)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        h = np.arange(start + 1, stop + 1, dtype=np.uint32)  # k + 1 (< 2^32 for every config)
        h *= np.uint32(0x9E3779B1)
        h ^= seed
        h = fmix32(h)
        s = 2.0 * (h / 4294967296.0) - 1.0  # float64, exact
        out[start:stop] = offset + scale * s  # float64 arithmetic, one rounding to float32 (nearest even)
    return out.reshape(shape)


def checkpoint(model):
    """Every tensor of a synthetic model: {name: float32 array}."""
    return {name: synth_tensor(name, shape) for name, shape in tensor_names(CONFIGS[model])}


def sha256(a):
    """SHA-256 of a float32 array's little-endian bytes (index.json's tensor hashes)."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def check_hashes(tensors, expected):
    """Compares {name: array} with {name: sha256} for the names in both; a dict for the results."""
    names = [n for n in expected if n in tensors]
    bad = [n for n in names if sha256(tensors[n]) != expected[n]]
    missing = [n for n in expected if n not in tensors]
    return {"ok": not bad and not missing and bool(names), "checked": len(names), "mismatched": bad, "missing": missing}


def inputs(model, seq, batch):
    """(input_ids, attention_mask) as int64 [batch, seq], exactly synthInputs of src/bert/synth.ts."""
    V = CONFIGS[model]["V"]
    first, span = (1000, V - 1000) if V > 1000 else (1, V - 1)
    if seq - 5 * (batch - 1) < 2:
        raise ValueError(f"synth inputs: need seq - 5*(batch - 1) >= 2, got seq {seq}, batch {batch}")
    ids = np.zeros((batch, seq), dtype=np.int64)
    mask = np.zeros((batch, seq), dtype=np.int64)
    for r in range(batch):
        length = seq - 5 * r
        j = np.arange(1, length - 1, dtype=np.uint64)
        x = ((j * 7919 + r * 104729 + 1) & 0xFFFFFFFF).astype(np.uint32)
        ids[r, 1 : length - 1] = first + (fmix32(x) % np.uint32(span)).astype(np.int64)
        ids[r, 0] = 101  # [CLS]
        ids[r, length - 1] = 102  # [SEP]
        mask[r, :length] = 1
    return ids, mask


def main(argv):
    if len(argv) >= 3 and argv[0] == "check":
        model, path = argv[1], argv[2]
        expected = json.load(open(path))["models"].get(model, {})
        t0 = time.time()
        cfg = CONFIGS[model]
        tensors = {n: synth_tensor(n, s) for n, s in tensor_names(cfg) if n in expected}
        r = check_hashes(tensors, expected)
        print(json.dumps({"model": model, **r, "seconds": round(time.time() - t0, 3)}))
        return 0 if r["ok"] else 1
    if len(argv) == 4 and argv[0] == "inputs":
        ids, mask = inputs(argv[1], int(argv[2]), int(argv[3]))
        print(json.dumps({"input_ids": ids.tolist(), "attention_mask": mask.tolist()}))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
