#!/usr/bin/env python3
"""Copies standard input to standard output, adding "cpu" and "kernel" to every JSON figure line
(a line that starts with {"bench"); other lines pass unchanged. bench/label.sh puts every
benchmark's output through it.

cpu:    /proc/cpuinfo's model name, with its vendor, family and model numbers (an Intel
        "Xeon(R) Processor" says nothing more by name: family 6 model 207 is Emerald Rapids).
kernel: the path mixer's kernels take on this CPU (Sources/CKernels/isa.c's rule): "avx512" with
        AVX-512F, else "avx2" with AVX2 and FMA, else "portable"; capped by MIXER_KERNEL
        (portable, avx2, avx512) when the environment sets it, as the kernels are.
"""
import json
import os
import platform
import sys


def cpu_fields():
    info = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    name = info.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in info and "model" in info:
        name += f" ({info.get('vendor_id', '?')} family {info['cpu family']} model {info['model']})"
    flags = set(info.get("flags", "").split())
    level = 2 if "avx512f" in flags else 1 if {"avx2", "fma"} <= flags else 0
    cap = {"portable": 0, "avx2": 1, "avx512": 2}.get(os.environ.get("MIXER_KERNEL", ""), 2)
    return name, ["portable", "avx2", "avx512"][min(level, cap)]


def main():
    cpu, kernel = cpu_fields()
    for line in sys.stdin:
        if line.startswith('{"bench"'):
            try:
                d = json.loads(line)
            except ValueError:
                sys.stdout.write(line)
                continue
            d.setdefault("cpu", cpu)
            d.setdefault("kernel", kernel)
            line = json.dumps(d, ensure_ascii=False) + "\n"
        sys.stdout.write(line)
        sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # a reader such as `head` went away: stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
