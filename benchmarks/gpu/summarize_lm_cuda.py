#!/usr/bin/env python3
"""Turns bench_lm_cuda's Google Benchmark JSON into benchmarks/results/ objects, one per
(precision, CUDA Graphs, overlapped launches) configuration, with the keys the CUDA LM issue asks
for: gpu, commit, date, command, precision, cuda_graphs, overlapped_launches, ms_per_frame, pct_of_bandwidth_floor,
prefill_ms_300, prefill_ms_1000, peak_mem_gb (device), host_table_gb (embedding tables kept in
mapped host memory, when the run reports them).

usage: summarize_lm_cuda.py BENCH.json --gpu "NVIDIA H200" --commit SHA --command "..." > OUT.json
"""
import argparse
import json
import re
import sys

PRECISIONS = {1: "bf16", 2: "fp8", 3: "nf4", 4: "int4"}
# Weight bytes read per frame with CFG (the floors): 3B backbone once, 300M decoder and
# heads 7 more times (5.27 G weights), at ~4.25 TB/s; 4-bit: half a byte per weight plus an fp32
# scale per 64 (2.97 GB).
BANDWIDTH_FLOOR_MS = {"bf16": 2.5, "fp8": 1.24, "nf4": 0.70, "int4": 0.70}


def arg(name, key):
    m = re.search(key + r"[^:]*:(\d+)", name)
    return int(m.group(1)) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_json")
    p.add_argument("--gpu", required=True)
    p.add_argument("--commit", required=True)
    p.add_argument("--command", required=True)
    a = p.parse_args()
    data = json.load(open(a.bench_json))
    # With --benchmark_repetitions the median stands for each benchmark.
    runs = data["benchmarks"]
    if any(b.get("run_type") == "aggregate" for b in runs):
        runs = [b for b in runs if b.get("aggregate_name") == "median"]
    prefill = {}
    for b in runs:
        if b["name"].startswith("BM_Prefill/"):
            prefill[(arg(b["name"], "precision"), arg(b["name"], "prompt"))] = b
    out = []
    for b in runs:
        if not b["name"].startswith("BM_FrameStep/"):
            continue
        precision = arg(b["name"], "precision")
        name = PRECISIONS[precision]
        row = {
            "gpu": a.gpu,
            "commit": a.commit,
            "date": data["context"]["date"],
            "command": a.command,
            "precision": name,
            "cuda_graphs": arg(b["name"], "graphs") == 1,
            "overlapped_launches": arg(b["name"], "overlapped") == 1,
            "shapes": "llama-3B + llama-300M, random weights, CFG batch 2, topk 50, 300-token prompt",
            "ms_per_frame": round(b["ms_per_frame"], 3),
            "pct_of_bandwidth_floor": round(100.0 * BANDWIDTH_FLOOR_MS[name] / b["ms_per_frame"], 1),
            "prefill_ms_300": round(b["prefill_ms_300"], 2),
            "peak_mem_gb": round(b["peak_mem_gb"], 2),
        }
        if "host_table_gb" in b:  # embedding tables in mapped host memory, not in peak_mem_gb
            row["host_table_gb"] = round(b["host_table_gb"], 2)
        long_prompt = prefill.get((precision, 1000))
        if long_prompt:
            row["prefill_ms_1000"] = round(long_prompt["prefill_ms"], 2)
            row["peak_mem_gb_1000_prompt"] = round(long_prompt["peak_mem_gb"], 2)
        out.append(row)
    if not out:
        sys.exit("no BM_FrameStep results in " + a.bench_json)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
