#!/usr/bin/python3
"""Medians per (engine, beams, batch) over the repeated runs, and the C# / transformers.js ratios."""
import json
import platform
import statistics
import sys

raw, out, cores = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(raw) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["engine"], r["beams"], r["batch"]), []).append(r)
summary = []
for (engine, beams, batch), rs in sorted(groups.items()):
    m = {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
    m.update(engine=engine, beams=beams, batch=batch, runs=len(rs))
    summary.append(m)
print(f"machine: {platform.processor() or platform.machine()}, {cores} cores; medians of {summary[0]['runs']} runs\n")
print("| engine | beams | batch | sentences/s | output tokens/s | p50 ms | p90 ms | p99 ms | ORT Run share |")
print("|---|---|---|---|---|---|---|---|---|")
for m in summary:
    share = f"{m['onnxRuntimeShare']:.1%}" if "onnxRuntimeShare" in m else "-"
    print(f"| {m['engine']} | {m['beams']} | {m['batch']} | {m['sentencesPerSecond']:.1f} | {m['tokensPerSecond']:.0f} | "
          f"{m['p50Ms']:.1f} | {m['p90Ms']:.1f} | {m['p99Ms']:.1f} | {share} |")
print()
by = {(m["engine"], m["beams"], m["batch"]): m for m in summary}
ratios = {}
for (engine, beams, batch), m in by.items():
    peer = by.get(("transformers.js", beams, batch))
    if engine == "csharp" and peer:
        ratios[f"greedy batch {batch}"] = m["sentencesPerSecond"] / peer["sentencesPerSecond"]
        print(f"C# / transformers.js throughput, greedy, batch {batch}: {ratios[f'greedy batch {batch}']:.2f}x")
for m in summary:
    if m["engine"] == "csharp":
        print(f"C# engine overhead above ORT Run, beams {m['beams']} batch {m['batch']}: "
              f"{(1 / m['onnxRuntimeShare'] - 1):.1%}")
json.dump({"cores": cores, "summary": summary, "ratios": ratios, "raw": rows}, open(out, "w"), indent=1)
print(f"\nwrote {out}")
