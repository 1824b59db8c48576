#!/usr/bin/env python3
"""Turns bench_codec_cuda's Google Benchmark JSON into a benchmarks/results/ object: date, gpu,
commit, command, the measured ceilings (device copy GB/s, GEMM TFLOP/s per precision) and one
compact table per precision (fp32, bf16, fp8):
  offline_30s_s, offline_rtf           decode_offline of 30 s (two 744-frame windows)
  estimator_tflops                     one estimator call at the offline shape (batch 2, 744 frames)
  estimator_pct_of_gemm_ceiling        ... as % of that precision's BM_GemmCeiling
  estimator_ms / flow_sample_ms        by latent frames (744 offline; 32, 64, 96 streaming)
  streaming_ms_per_code_frame          steady-state chunk time / chunk frames, by chunk frames
  streaming_chunk_rtf                  chunk compute time / chunk audio time, by chunk frames
  decoder_ms_per_audio_s               scalar decoder, by latent frames (25 = 1 s, 744 = a window)
  peak_mem_gb                          the codec backend's peak device memory over the run
Benchmarks left out of the run (--benchmark_filter) leave their keys out.

usage: summarize_codec_cuda.py BENCH.json --gpu "NVIDIA H200" --commit SHA --command "..." > OUT.json
"""
import argparse
import json
import re
import sys

PRECISIONS = {0: "fp32", 1: "bf16", 2: "fp8"}
OFFLINE_FRAMES = 744


def arg(name, key):
    m = re.search(key + r"[^:/]*:(\d+)", name)
    return int(m.group(1)) if m else None


def mean_runs(benchmarks):
    """Per benchmark name, the mean of each field over its iteration runs (repetitions)."""
    runs = {}
    for b in benchmarks:
        if b.get("run_type", "iteration") == "iteration" and "error_occurred" not in b:
            runs.setdefault(b["name"], []).append(b)
    out = {}
    for name, rs in runs.items():
        keys = [k for k, v in rs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out[name] = {k: sum(r[k] for r in rs) / len(rs) for k in keys}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_json")
    p.add_argument("--gpu", required=True)
    p.add_argument("--commit", required=True)
    p.add_argument("--command", required=True)
    a = p.parse_args()
    data = json.load(open(a.bench_json))
    runs = mean_runs(data["benchmarks"])
    if not runs:
        sys.exit("no benchmark results in " + a.bench_json)

    ceilings = {"gemm_tflops": {}}
    tables = {name: {} for name in PRECISIONS.values()}
    for name, b in runs.items():
        family = name.split("/")[0]
        if family == "BM_CopyBandwidth":
            ceilings["copy_GBps"] = round(b["GB/s"], 1)
            continue
        precision = PRECISIONS.get(arg(name, "precision"))
        if precision is None:
            continue
        t = tables[precision]
        if "peak_mem_gb" in b:
            t["peak_mem_gb"] = round(max(t.get("peak_mem_gb", 0.0), b["peak_mem_gb"]), 2)
        frames = arg(name, "frames")
        if family == "BM_GemmCeiling":
            ceilings["gemm_tflops"][precision] = round(b["TFLOP/s"], 1)
        elif family == "BM_OfflineDecode30s":
            t["offline_30s_s"] = round(b["seconds"], 3)
            t["offline_rtf"] = round(b["rtf"], 4)
        elif family == "BM_EstimatorStep":
            t.setdefault("estimator_ms", {})[str(frames)] = round(b["ms"], 3)
            if frames == OFFLINE_FRAMES:
                t["estimator_tflops"] = round(b["TFLOP/s"], 1)
        elif family == "BM_FlowSample":
            t.setdefault("flow_sample_ms", {})[str(frames)] = round(b["ms"], 2)
        elif family == "BM_StreamingChunk":
            chunk = str(arg(name, "chunk"))
            t.setdefault("streaming_ms_per_code_frame", {})[chunk] = round(b["ms_per_code_frame"], 3)
            t.setdefault("streaming_chunk_rtf", {})[chunk] = round(b["chunk_rtf"], 4)
        elif family == "BM_ScalarDecoder":
            t.setdefault("decoder_ms_per_audio_s", {})[str(frames)] = round(b["ms_per_audio_s"], 2)
    for precision, t in tables.items():
        ceiling = ceilings["gemm_tflops"].get(precision)
        if ceiling and "estimator_tflops" in t:
            t["estimator_pct_of_gemm_ceiling"] = round(100.0 * t["estimator_tflops"] / ceiling, 1)

    out = {
        "gpu": a.gpu,
        "commit": a.commit,
        "date": data["context"]["date"],
        "command": a.command,
        "shapes": "HeartCodec released config (DiT 24 + 6 layers, 1536 / 3072 wide), random weights, "
        "CFG batch 2, 10 Euler steps, streaming context 16 code frames",
        "ceilings": ceilings,
        "precisions": {k: v for k, v in tables.items() if v},
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
