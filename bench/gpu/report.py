"""Phases 5 and "table" of the GPU run (bench/gpu/run): logits agreement, and the one summary table.

  python3 report.py compare --results R --logits-dir D --model M --shapes 1x128,8x128 --out OUTDIR
      Reads the logits files the engines wrote (<engine>.<dtype>.<BxS>.bin, float32 LE [batch][seq][labels]) and
      compares each with PyTorch fp32 (without PyTorch, e.g. in the rehearsal: with wgbert fp32) on the
      unpadded positions (attention mask 1, from synth.inputs): max |d|, max |d| / max |reference|,
      ||d|| / ||reference||, and how often the argmax label agrees. Writes OUTDIR/logits.npz (all of them).
  python3 report.py table --results R --out OUTDIR [--smi CSV]
      One table of every timing record (engine, dtype, shape, median ms, GPU ms, TFLOP/s, % of peak, ratio to
      PyTorch fp32 and to onnxruntime), then agreement, sweep and probe summaries and the phase times; printed
      and written to OUTDIR/table.md. Peak = SMs x 128 x 2 x SM clock (FP32 FMA on CUDA cores): SMs from
      torch, the clock the highest nvidia-smi sampled during the run (else clocks.max.sm);
      WGBERT_GPU_PEAK_TFLOPS overrides it.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TAGS = ["wgbert.fp32", "wgbert.fp16", "ort.fp32", "torch.fp32", "torch.tf32", "torch.fp16"]
ENGINE_ORDER = [
    ("wgbert", "fp32"),
    ("wgbert", "fp16"),
    ("wgbert", "q8"),
    ("wgbert", "q4"),
    ("pytorch", "fp32"),
    ("pytorch", "tf32"),
    ("pytorch", "fp16"),
    ("onnxruntime-node", "fp32"),
]


def read_results(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass  # a line cut by a kill
    except OSError:
        pass
    return out


def append(results, rec):
    line = json.dumps({"phase": "compare", **rec})
    with open(results, "a") as f:
        f.write(line + "\n")
    print(line[:400], flush=True)


def compare(a):
    import numpy as np

    import synth

    C = synth.CONFIGS[a.model]["C"]
    saved = {}
    for item in a.shapes.split(","):
        b, s = (int(v) for v in item.split("x"))
        key = f"{b}x{s}"
        _, mask = synth.inputs(a.model, s, b)
        keep = mask.astype(bool)
        found = {}
        for tag in TAGS:
            p = os.path.join(a.logits_dir, f"{tag}.{key}.bin")
            if os.path.exists(p):
                x = np.fromfile(p, dtype="<f4")
                if x.size == b * s * C:
                    found[tag] = x.reshape(b, s, C)
                    saved[f"{tag}.{key}"] = found[tag]
                else:
                    append(a.results, {"shape": key, "a": tag, "error": f"{x.size} values, expected {b * s * C}"})
        ref = "torch.fp32" if "torch.fp32" in found else "wgbert.fp32" if "wgbert.fp32" in found else None
        if ref is None:
            append(a.results, {"shape": key, "skipped": f"no reference logits (found: {sorted(found) or 'none'})"})
            continue
        r = found[ref][keep].astype(np.float64)
        for tag, x in found.items():
            if tag == ref:
                continue
            v = x[keep].astype(np.float64)
            d = np.abs(v - r)
            append(
                a.results,
                {
                    "shape": key,
                    "a": tag,
                    "b": ref,
                    "positions": int(keep.sum()),
                    "max_abs": float(d.max()),
                    "mean_abs": float(d.mean()),
                    "max_rel": float(d.max() / max(np.abs(r).max(), 1e-30)),
                    "rel_l2": float(np.linalg.norm(v - r) / max(np.linalg.norm(r), 1e-30)),
                    "argmax_agree": float((v.argmax(-1) == r.argmax(-1)).mean()),
                    "non_finite": int((~np.isfinite(v)).sum()),
                },
            )
    if saved and a.out:
        np.savez_compressed(os.path.join(a.out, "logits.npz"), **saved)
    return 0


def fmt(x, d=2):
    return "–" if x is None else f"{x:.{d}f}"


def sig(x, n=3):
    """x with n significant digits (small rates of the rehearsal's software GPU stay readable)."""
    return "–" if x is None else f"{x:.{n}g}" if abs(x) < 10 ** (n - 1) else f"{x:.0f}"


def sampled_clock(path):
    """The highest SM clock (MHz) nvidia-smi sampled during the run (CSV: clocks.sm first), or None."""
    best = None
    try:
        with open(path) as f:
            for line in f:
                try:
                    mhz = float(line.split(",")[0])
                    best = mhz if best is None else max(best, mhz)
                except ValueError:
                    pass
    except OSError:
        pass
    return best


def table(a):
    recs = read_results(a.results)
    flops = {}
    for r in recs:
        if r.get("event") == "flops":
            flops.update(r.get("flops", {}))
    shapes = list(flops) or sorted({r["shape"] for r in recs if "shape" in r})
    timing = {}
    for r in recs:
        if "median_ms" in r and r.get("engine") and r.get("median_ms") is not None:
            timing[(r["engine"], r["dtype"], r["shape"])] = r
    dev = next((r for r in recs if r.get("phase") == "torch" and r.get("event") == "device"), None)
    smi = next((r for r in recs if r.get("event") == "nvidia-smi" and r.get("gpu0")), None)
    probe = next((r for r in recs if r.get("phase") == "probe" and r.get("event") == "adapter"), None)
    env = next((r for r in recs if r.get("event") == "env"), {})

    clock, clock_src = sampled_clock(a.smi) if a.smi else None, "highest sampled during the run"
    if clock is None and smi:
        try:
            clock, clock_src = float(smi["gpu0"].get("clocks.max.sm [MHz]", "").split()[0]), "clocks.max.sm"
        except (ValueError, IndexError):
            clock = None
    sms = (dev or {}).get("sm_count")  # absent when the torch phase ran on the CPU (a rehearsal)
    peak = sms * 128 * 2 * clock * 1e6 / 1e12 if sms and clock else None
    peak_note = f"{sms} SMs x 128 x 2 x {clock:.0f} MHz ({clock_src})" if peak else "unknown (no SM count / clock)"
    if os.environ.get("WGBERT_GPU_PEAK_TFLOPS"):
        peak, peak_note = float(os.environ["WGBERT_GPU_PEAK_TFLOPS"]), "WGBERT_GPU_PEAK_TFLOPS"

    lines = []
    gpu_name = (dev or {}).get("name") or ((smi or {}).get("gpu0") or {}).get("name")
    adapter = (probe or {}).get("adapter", {})
    model = next((r.get("model") for r in recs if r.get("event") == "flops"), "?")
    lines.append(f"# GPU run: {model}{' (rehearsal)' if env.get('rehearsal') else ''}")
    lines.append("")
    lines.append(f"- GPU: {gpu_name or 'unknown'}; WebGPU adapter: {adapter.get('description') or adapter or 'none'}")
    lines.append(f"- peak FP32 (non-tensor): {fmt(peak, 1)} TFLOP/s = {peak_note}")
    lines.append("- median ms: wall clock per forward incl. input upload and logits read-back; GPU ms: CUDA events")
    lines.append("  (PyTorch) or timestamp queries (wgbert, when the runtime exposes `lastPassGpuMs`)")
    lines.append("- wgbert fp16 = f16 weight storage, f32 arithmetic; q8 / q4 = int8 / int4 weights dequantized in")
    lines.append("  registers (f32 arithmetic); × = median ÷ that engine's median")
    lines.append("")
    lines.append("| engine | dtype | shape | median ms | GPU ms | TFLOP/s | % of peak | × PyTorch fp32 | × ORT |")
    lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for shape in shapes:
        torch32 = timing.get(("pytorch", "fp32", shape))
        ort = timing.get(("onnxruntime-node", "fp32", shape))
        for engine, dtype in ENGINE_ORDER:
            r = timing.get((engine, dtype, shape))
            if r is None:
                continue
            ms = r["median_ms"]
            f = flops.get(shape) or r.get("flops")
            tf = f / (ms * 1e9) if f and ms else None
            pct = 100 * tf / peak if tf and peak else None
            x_t = ms / torch32["median_ms"] if torch32 else None
            x_o = ms / ort["median_ms"] if ort else None
            names = {"onnxruntime-node": "ort webgpu", "wgbert": "wgbert webgpu"}
            name = names.get(engine) or f"pytorch {r.get('backend', 'cuda')}"  # 'cpu' in a rehearsal
            lines.append(
                f"| {name} | {dtype} | {shape} | {fmt(ms)} | {fmt(r.get('gpu_ms'))} | {sig(tf)} | {fmt(pct, 1)} | "
                f"{fmt(x_t)} | {fmt(x_o)} |"
            )

    cmp_recs = [r for r in recs if r.get("phase") == "compare" and "max_abs" in r]
    if cmp_recs:
        lines += ["", "| logits | vs | shape | max abs Δ | max rel | rel L2 | argmax agree |"]
        lines.append("|---|---|---|---:|---:|---:|---:|")
        for r in cmp_recs:
            lines.append(
                f"| {r['a']} | {r['b']} | {r['shape']} | {r['max_abs']:.2e} | {r['max_rel']:.2e} | {r['rel_l2']:.2e} | "
                f"{100 * r['argmax_agree']:.1f} % |"
            )

    sweep = [r for r in recs if r.get("phase") == "sweep" and "gflops" in r]
    if sweep:
        # GFLOP/s of every config (rows) on every GEMM shape (columns); * = the shape's best; max |Δ| vs default.
        gemms = list(dict.fromkeys((r["M"], r["N"], r["K"]) for r in sweep))
        configs = list(dict.fromkeys(r["config"] for r in sweep))
        cell = {(r["config"], (r["M"], r["N"], r["K"])): r for r in sweep}
        best = {g: max((r for r in sweep if (r["M"], r["N"], r["K"]) == g), key=lambda r: r["gflops"]) for g in gemms}
        lines += ["", "GEMM sweep, GFLOP/s (M×N×K; * best for the shape):", ""]
        lines.append("| config | " + " | ".join(f"{M}×{N}×{K}" for M, N, K in gemms) + " | worst max abs Δ |")
        lines.append("|---|" + "---:|" * len(gemms) + "---:|")
        for c in configs:
            row, worst = [], 0.0
            for g in gemms:
                r = cell.get((c, g))
                row.append("–" if r is None else sig(r["gflops"]) + ("*" if best[g] is r else ""))
                if r is not None and r.get("max_abs_vs_default") is not None:
                    worst = max(worst, r["max_abs_vs_default"])
            lines.append(f"| {c} | " + " | ".join(row) + f" | {worst:.1e} |")

    if probe:
        has = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in probe.get("has", {}).items())
        lines += ["", f"- adapter features: {has}; subgroup sizes {probe.get('subgroup_min_size')}–"]
        lines[-1] += f"{probe.get('subgroup_max_size')}; subgroup-matrix configs: "
        lines[-1] += json.dumps(probe.get("subgroup_matrix_configs"))
    ends = [r for r in recs if r.get("event") == "end"]
    if ends:
        lines += ["", "| phase | status | seconds | timeout s |", "|---|---|---:|---:|"]
        for r in ends:
            lines.append(f"| {r['phase']} | {r.get('status')} | {fmt(r.get('seconds'), 1)} | {r.get('timeout_s')} |")
    skips = [r for r in recs if "skipped" in r and r.get("phase") not in ("sweep",)]
    errors = [r for r in recs if "error" in r]
    if skips or errors:
        lines.append("")
        for r in skips:
            lines.append(f"- skipped ({r['phase']}{' ' + r['shape'] if 'shape' in r else ''}): {r['skipped']}")
        for r in errors:
            lines.append(f"- error ({r['phase']}{' ' + r['shape'] if 'shape' in r else ''}): {r['error']}")
    text = "\n".join(lines) + "\n"
    if a.out:
        with open(os.path.join(a.out, "table.md"), "w") as f:
            f.write(text)
    print(text)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["compare", "table"])
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--logits-dir", default="")
    ap.add_argument("--model", default="synth-large")
    ap.add_argument("--shapes", default="1x128")
    ap.add_argument("--smi", default="")
    a = ap.parse_args()
    return compare(a) if a.command == "compare" else table(a)


if __name__ == "__main__":
    sys.exit(main())
