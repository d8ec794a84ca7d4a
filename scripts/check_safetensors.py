#!/usr/bin/env python3
"""Proves that mixer's safetensors files are the published format, by loading them with
Hugging Face's own `safetensors` package (numpy backend) and printing what it sees.

Usage:
    python3 scripts/check_safetensors.py FILE.safetensors [...]
        For each tensor: name, dtype, shape, SHA-256 of its little-endian bytes, and the sum
        (float64). Then one JSON line per file: {"file", "tensors", "elements", "metadata"}.
    python3 scripts/check_safetensors.py --write OUT.safetensors
        Writes a small file with safetensors.numpy.save_file (the reverse direction: the
        Swift test CheckpointSafeTensorsTests.testReadsAFileWrittenByPython embeds such a file).

Needs: pip install safetensors numpy (bench/setup-venv.sh installs both). The product itself
never needs Python.
"""
import hashlib
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def check(path):
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    elements = 0
    for name in sorted(tensors):
        t = tensors[name]
        le = t.astype("<f4", copy=False).tobytes()
        elements += t.size
        print(f"{name}\t{t.dtype}\t{list(t.shape)}\tsha256={hashlib.sha256(le).hexdigest()}\tsum={float(t.astype(np.float64).sum())!r}")
        if not np.all(np.isfinite(t)):
            print(f"  WARNING: {name} has non-finite values")
    print(json.dumps({"file": path, "tensors": len(tensors), "elements": int(elements), "metadata": metadata}, sort_keys=True))


def write(path):
    save_file(
        {
            "b": (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1),
            "a.weight": np.array([1e-30, -0.0, 3.4e38], dtype=np.float32),
            "scalar": np.array(7.25, dtype=np.float32),
        },
        path,
        metadata={"source": "python"},
    )


def main(argv):
    if len(argv) == 2 and argv[0] == "--write":
        write(argv[1])
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    for p in argv:
        check(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
