#!/usr/bin/env python3
"""Summarises an ONNX Runtime profile (SessionOptions.EnableProfiling) of the merged Marian decoder.

    python3 bench/ort_profile_summary.py PROFILE.json [TOP_NODES]

Kernel time per op type and the top nodes, per If branch (no_past = the first step, with_past = the steps with the
cache), and the shares the beam-search profile reports (bench/results/beam-profile-2026-12-02.md): the cross-attention
K/V projections of the first step, the cache copies (Identity), the self-attention cache growth (Concat), the
projections and feed-forward GEMMs, attention itself, and the small shape ops.
"""
import collections
import json
import sys

events = json.load(open(sys.argv[1]))
top_n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
runs = [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
run_total = sum(r["dur"] for r in runs)


def branch(name):
    return "with_past" if name.startswith("with_past") else "no_past" if name.startswith("no_past") else "outer"


def total(pred):
    return sum(e["dur"] for e in nodes if pred(e["name"], e["args"].get("op_name")))


by_op = collections.defaultdict(collections.Counter)
count = collections.defaultdict(collections.Counter)
by_node = collections.defaultdict(collections.Counter)
for e in nodes:
    b, op = branch(e["name"]), e["args"].get("op_name", "?")
    by_op[b][op] += e["dur"]
    count[b][op] += 1
    by_node[b][e["name"][: -len("_kernel_time")]] += e["dur"]

print(f"{sys.argv[1]}: {len(runs)} Runs, {run_total / 1e3:.1f} ms inside Run")
for b in ("no_past", "with_past", "outer"):
    if b not in by_op or b == "outer" and "no_past" in by_op:
        continue
    kernels = sum(by_op[b].values())
    print(f"\n[{b}] kernels {kernels / 1e3:.1f} ms ({100 * kernels / run_total:.0f}% of Run)")
    for op, d in by_op[b].most_common(12):
        print(f"  {op:24s} {d / 1e3:8.1f} ms {100 * d / kernels:5.1f}%  n={count[b][op]}")
    print("  top nodes:")
    for n, d in by_node[b].most_common(top_n):
        print(f"    {n[:72]:72s} {d / 1e3:7.1f} ms {100 * d / kernels:5.1f}%")

first = total(lambda n, o: n.startswith("no_past"))
later = total(lambda n, o: n.startswith("with_past"))
if first and later:
    cross_kv = total(lambda n, o: n.startswith("no_past") and "encoder_attn" in n
                     and any(k in n for k in ("k_proj", "v_proj", "Transpose_1", "Transpose_2", "Transpose_3")))
    identity = total(lambda n, o: n.startswith("with_past") and o == "Identity")
    concat = total(lambda n, o: n.startswith("with_past") and o == "Concat")
    gemm = total(lambda n, o: n.startswith("with_past") and any(k in n for k in ("proj", "fc1", "fc2", "lm_head"))
                 and o in ("MatMul", "Add", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits", "MatMulInteger"))
    cross = total(lambda n, o: n.startswith("with_past") and "encoder_attn" in n and "proj" not in n
                  and o in ("FusedMatMul", "MatMul", "Softmax"))
    self_attn = total(lambda n, o: n.startswith("with_past") and "self_attn" in n and "proj" not in n
                      and o in ("FusedMatMul", "MatMul", "Softmax"))
    shape = total(lambda n, o: n.startswith("with_past") and o in (
        "Shape", "Gather", "Unsqueeze", "Reshape", "Slice", "Cast", "Range", "Sub", "Expand", "Equal", "Where"))
    outer = run_total - first - later
    print(f"\nRun time: first step kernels {100 * first / run_total:.0f}%, later steps' kernels {100 * later / run_total:.0f}%,"
          f" the rest (If, outer nodes, executor) {100 * outer / run_total:.0f}%")
    print(f"first step: cross-attention K/V projections and their transposes {100 * cross_kv / first:.0f}% of its kernels")
    print(f"later steps, % of their kernels: cache copies (Identity) {100 * identity / later:.1f}, cache growth (Concat)"
          f" {100 * concat / later:.1f}, projections + feed-forward {100 * gemm / later:.1f}, cross-attention"
          f" {100 * cross / later:.1f}, self-attention {100 * self_attn / later:.1f}, shape ops {100 * shape / later:.1f}")
