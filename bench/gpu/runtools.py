"""Helpers of the GPU run's entry script (bench/gpu/run), standard library only (they run before anything else).

  python3 runtools.py unpack WORK                 decompress the .xz files of WORK/manifest.json (Python's lzma:
                                                  the GPU machine may have no xz), checking every sha256
  python3 runtools.py emit RESULTS key=value...   append one JSON record (numbers and true/false parsed;
                                                  key=@FILE: the last 15 lines of FILE; seconds_since=T: now - T)
  python3 runtools.py env RESULTS WORK            the machine: OS, glibc, Python, packed node, Vulkan ICD, …
  python3 runtools.py smi RESULTS                 nvidia-smi's name, driver and SM clocks (if nvidia-smi exists)
  python3 runtools.py trim FILE MAXBYTES          keep FILE under MAXBYTES (its head and tail)
"""

import ctypes
import hashlib
import json
import lzma
import os
import platform
import shutil
import subprocess
import sys
import time


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def append(results, rec):
    line = json.dumps(rec)
    with open(results, "a") as f:
        f.write(line + "\n")
    print(line[:400], flush=True)


def unpack(work):
    """Checks every file of the manifest and writes the raw file of each .xz next to it."""
    manifest = json.load(open(os.path.join(work, "manifest.json")))
    t0 = time.time()
    bad = []
    for f in manifest["files"]:
        path = os.path.join(work, f["path"])
        if not os.path.exists(path) or sha256_file(path) != f["sha256"]:
            bad.append(f"{f['path']}: missing or sha256 differs")
            continue
        raw = f.get("raw")
        if raw is None:
            continue
        out = os.path.join(work, raw["path"])
        if not (os.path.exists(out) and sha256_file(out) == raw["sha256"]):
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with lzma.open(path, "rb") as src, open(out + ".part", "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            os.replace(out + ".part", out)
            if sha256_file(out) != raw["sha256"]:
                bad.append(f"{raw['path']}: sha256 of the decompressed file differs")
        os.chmod(out, int(raw.get("mode", "644"), 8))
    print(f"unpacked {len(manifest['files'])} files in {time.time() - t0:.1f} s")
    for b in bad:
        print(f"runtools unpack: {b}", file=sys.stderr)
    return 1 if bad else 0


def parse_value(v):
    if v in ("true", "false"):
        return v == "true"
    if v == "null":
        return None
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def emit(results, pairs):
    rec = {}
    for p in pairs:
        k, _, v = p.partition("=")
        if v.startswith("@"):
            try:
                with open(v[1:], errors="replace") as f:
                    rec[k] = "".join(f.readlines()[-15:])[-3000:]
            except OSError:
                rec[k] = None
        elif k == "seconds_since":
            rec["seconds"] = round(time.time() - float(v), 2)
        else:
            rec[k] = parse_value(v)
    append(results, rec)
    return 0


def run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip()
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def env(results, work):
    """One record describing the machine and what the run will use."""
    node = os.path.join(work, "node")
    icd = os.environ.get("VK_ICD_FILENAMES") or os.environ.get("VK_DRIVER_FILES")
    icd_info = None
    if icd:
        icd_info = {"path": icd}
        try:
            text = open(icd).read()
            icd_info["json"] = json.loads(text)
            lib = icd_info["json"].get("ICD", {}).get("library_path", "")
            if lib and not os.path.isabs(lib) and "/" in lib:
                lib = os.path.join(os.path.dirname(icd), lib)
            try:
                ctypes.CDLL(lib)
                icd_info["library_loads"] = True
            except OSError as e:
                icd_info["library_loads"] = f"no: {e}"
        except Exception as e:
            icd_info["error"] = f"{type(e).__name__}: {e}"
    try:
        import numpy

        numpy_version = numpy.__version__
    except Exception as e:
        numpy_version = f"unavailable: {e}"
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except Exception:
        pass
    manifest = json.load(open(os.path.join(work, "manifest.json")))
    node_version = run([node, "--version"])
    rec = {
        "phase": "setup",
        "event": "env",
        "rehearsal": os.environ.get("WGBERT_GPU_REHEARSAL") == "1",
        "uname": " ".join(platform.uname()),
        "glibc": " ".join(platform.libc_ver()),
        "python": sys.version.split()[0],
        "numpy": numpy_version,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "node_on_path": shutil.which("node"),
        "packed_node": node_version,
        "node_ldd": run(["ldd", node]) if not node_version.startswith("v") else None,
        "vulkan_icd": icd_info,
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
        "packed": manifest.get("packed"),
    }
    append(results, rec)
    return 0


def smi(results):
    exe = shutil.which("nvidia-smi")
    if exe is None:
        append(results, {"phase": "probe", "event": "nvidia-smi", "skipped": "nvidia-smi not found"})
        return 0
    fields = "name,driver_version,clocks.sm,clocks.max.sm"
    text = run([exe, f"--query-gpu={fields}", "--format=csv"])
    rows = [line.split(", ") for line in text.splitlines()]
    parsed = dict(zip(rows[0], rows[1])) if len(rows) >= 2 else None
    append(results, {"phase": "probe", "event": "nvidia-smi", "csv": text, "gpu0": parsed})
    return 0


def trim(path, limit):
    size = os.path.getsize(path)
    if size <= limit:
        return 0
    with open(path, "rb") as f:
        head = f.read(limit // 8)
        f.seek(size - (limit - limit // 8))
        tail = f.read()
    with open(path, "wb") as f:
        f.write(head + f"\n[... {size - len(head) - len(tail)} bytes cut by runtools trim ...]\n".encode() + tail)
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "unpack":
        return unpack(argv[1])
    if len(argv) >= 2 and argv[0] == "emit":
        return emit(argv[1], argv[2:])
    if len(argv) == 3 and argv[0] == "env":
        return env(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "smi":
        return smi(argv[1])
    if len(argv) == 3 and argv[0] == "trim":
        return trim(argv[1], int(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
