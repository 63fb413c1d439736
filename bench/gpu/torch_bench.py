"""Phase 3 of the GPU run (bench/gpu/run): PyTorch on the same synthetic weights and inputs as wgbert.

1. Generates the model's weights in numpy (./synth.py, the fixtures' synth/SPEC.md) and checks the tensor
   hashes the packer copied from the fixtures' synth/index.json (expected-hashes.json); a mismatch is recorded
   and the run goes on (its logits comparison then says the weights differ).
2. Builds Hugging Face's BertForTokenClassification from a BertConfig with the model's sizes, loads the
   weights (strict), and times forwards with CUDA events (and the wall clock, including the copy of the
   logits to the host, as wgbert's times include its read-back): fp32 with TF32 off, fp32 with TF32 on, then
   fp16 (model.half()), for every shape, on the inputs of synth.inputs (= synthInputs of src/bert/synth.ts).
3. Writes the logits of the comparison shapes as float32 LE files torch.<dtype>.<BxS>.bin.
Without torch / transformers / CUDA the phase records why it skipped, after the hash check (the rehearsal).
Every result is a JSON line appended to --results, with "phase": "torch".
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def parse_shapes(text):
    out = []
    for item in text.split(","):
        b, s = item.strip().split("x")
        out.append((int(b), int(s)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--model", default="synth-large", choices=sorted(synth.CONFIGS))
    ap.add_argument("--shapes", default="1x128")
    ap.add_argument("--logits-shapes", default="")
    ap.add_argument("--logits-dir", default="")
    ap.add_argument("--expected", default="")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()

    def emit(rec):
        line = json.dumps({"phase": "torch", **rec})
        with open(a.results, "a") as f:
            f.write(line + "\n")
        print(line[:400], flush=True)

    cfg = synth.CONFIGS[a.model]
    shapes = parse_shapes(a.shapes)
    logit_shapes = set(parse_shapes(a.logits_shapes)) if a.logits_shapes else set()

    # 1. weights and their hashes (no torch needed)
    t0 = time.time()
    tensors = synth.checkpoint(a.model)
    gen_s = time.time() - t0
    expected = json.load(open(a.expected))["models"].get(a.model, {}) if a.expected else {}
    check = synth.check_hashes(tensors, expected) if expected else {"ok": None, "checked": 0}
    emit({"event": "synth_check", "model": a.model, **check, "generate_s": round(gen_s, 2)})

    # 2. PyTorch, if it is here
    try:
        import torch
        import transformers
        from transformers import BertConfig, BertForTokenClassification
    except Exception as e:  # ImportError, or a broken install
        emit({"skipped": f"PyTorch / transformers not available: {type(e).__name__}: {e}"})
        return 0
    # A rehearsal may run the same code on the CPU (WGBERT_GPU_TORCH_CPU=1, fp32 only), so that this phase and
    # the logits comparison are exercised before a GPU is at hand.
    cuda = torch.cuda.is_available()
    if not cuda and os.environ.get("WGBERT_GPU_TORCH_CPU") != "1":
        emit({"skipped": f"torch {torch.__version__} sees no CUDA device"})
        return 0
    device = "cuda" if cuda else "cpu"
    if cuda:
        props = torch.cuda.get_device_properties(0)
        emit(
            {
                "event": "device",
                "name": props.name,
                "sm_count": props.multi_processor_count,
                "capability": f"{props.major}.{props.minor}",
                "memory_gib": round(props.total_memory / 2**30, 1),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(),
            }
        )
    else:
        emit({"event": "device", "name": "cpu (rehearsal)", "torch": torch.__version__, "transformers": transformers.__version__})

    t1 = time.time()
    config = BertConfig(
        vocab_size=cfg["V"],
        hidden_size=cfg["H"],
        num_hidden_layers=cfg["L"],
        num_attention_heads=cfg["heads"],
        intermediate_size=cfg["I"],
        max_position_embeddings=cfg["P"],
        type_vocab_size=cfg["T"],
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        pad_token_id=0,
        num_labels=cfg["C"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    with torch.device(device):
        model = BertForTokenClassification(config)
    state = {n: torch.from_numpy(t) for n, t in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    del state, tensors
    model.eval()
    emit(
        {
            "event": "prepared",
            "load_s": round(time.time() - t1, 2),
            "attn_implementation": getattr(model.config, "_attn_implementation", None),
            "missing_keys": list(missing),
            "unexpected_keys": list(unexpected),
        }
    )

    def set_tf32(on):
        for obj in (torch.backends.cuda.matmul, torch.backends.cudnn):
            try:
                obj.allow_tf32 = on
            except Exception as e:  # newer torch may refuse the legacy flags
                emit({"warning": f"setting allow_tf32={on} on {obj}: {e}"})

    def feeds(b, s):
        ids, mask = synth.inputs(a.model, s, b)
        ids_t = torch.from_numpy(ids).to(device)
        return ids_t, torch.from_numpy(mask).to(device), torch.zeros_like(ids_t)

    runs, warmup = max(3, a.runs), max(1, a.warmup)
    for mode in ("fp32", "tf32", "fp16") if cuda else ("fp32",):
        set_tf32(mode == "tf32")
        if mode == "fp16":
            model.half()
        for b, s in shapes:
            base = {"engine": "pytorch", "backend": device, "dtype": mode, "model": a.model}
            base.update({"batch": b, "seq": s, "shape": f"{b}x{s}"})
            try:
                ids, mask, types = feeds(b, s)
                with torch.inference_mode():

                    def forward():
                        return model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits

                    for _ in range(warmup):
                        forward().float().cpu()
                    gpu, wall, out = [], [], None
                    for _ in range(runs):
                        t = time.perf_counter()
                        if cuda:
                            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                            start.record()
                            logits = forward()
                            end.record()
                        else:
                            logits = forward()
                        out = logits.float().cpu()  # synchronises
                        wall.append((time.perf_counter() - t) * 1e3)
                        gpu.append(start.elapsed_time(end) if cuda else wall[-1])
                rec = {
                    **base,
                    "runs": runs,
                    "warmup": warmup,
                    "median_ms": round(statistics.median(wall), 3),
                    "min_ms": round(min(wall), 3),
                    "max_ms": round(max(wall), 3),
                    "gpu_ms": round(statistics.median(gpu), 3),
                    "allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
                    "max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
                    "logits": None,
                }
                if a.logits_dir and (b, s) in logit_shapes:
                    os.makedirs(a.logits_dir, exist_ok=True)
                    name = f"torch.{mode}.{b}x{s}.bin"
                    out.numpy().astype("<f4").tofile(os.path.join(a.logits_dir, name))
                    rec["logits"] = name
                emit(rec)
            except Exception as e:
                emit({**base, "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
                if cuda:
                    torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
