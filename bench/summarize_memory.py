#!/usr/bin/python3
"""Medians per (model, engine) of bench/opus-shape.sh's load rows: load time, peak and resident memory.
Peak and 'after translating' are after 8 dev sentences greedy in one call (both engines do the same);
'after beam 4' is C# only (transformers.js has no beam search for Marian)."""
import json
import statistics
import sys

raw, out, loadavg = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(raw) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["model"], r["engine"]), []).append(r)
keys = ["loadSeconds", "peakMB", "rssAfterLoadMB", "rssAfterTranslateMB"]
summary = []
for (model, engine), rs in groups.items():
    m = {k: statistics.median(r[k] for r in rs) for k in keys}
    if all("rssAfterBeamMB" in r for r in rs):
        m["rssAfterBeamMB"] = statistics.median(r["rssAfterBeamMB"] for r in rs)
    m.update(model=model, engine=engine, onnxMB=rs[0]["onnxMB"], runs=len(rs))
    summary.append(m)
print(f"load average (1, 5, 15 min) before and after: {loadavg}; medians of {summary[0]['runs']} runs; MB = 10^6 bytes\n")
print("| model | ONNX files MB | engine | load s | peak RSS MB | resident after load MB | resident after translating MB "
      "| resident after beam 4 MB |")
print("|---|---|---|---|---|---|---|---|")
for m in summary:
    print(f"| {m['model']} | {m['onnxMB']:.0f} | {m['engine']} | {m['loadSeconds']:.2f} | {m['peakMB']:.0f} | "
          f"{m['rssAfterLoadMB']:.0f} | {m['rssAfterTranslateMB']:.0f} | "
          + (f"{m['rssAfterBeamMB']:.0f} |" if "rssAfterBeamMB" in m else "- |"))
print()
by = {(m["model"], m["engine"]): m for m in summary}
for model in dict.fromkeys(m["model"] for m in summary):
    split, graph, peer = (by.get((model, e)) for e in ("csharp", "csharp, logits from the graph", "transformers.js"))
    if split and peer:
        print(f"{model}: split / transformers.js: peak {split['peakMB'] / peer['peakMB']:.2f}x, resident after "
              f"translating {split['rssAfterTranslateMB'] / peer['rssAfterTranslateMB']:.2f}x; split peak / ONNX files "
              f"{split['peakMB'] / split['onnxMB']:.2f}x")
    if split and graph:
        print(f"{model}: split / graph as it is: load time {split['loadSeconds'] / graph['loadSeconds']:.2f}x, peak "
              f"{split['peakMB'] / graph['peakMB']:.2f}x, resident {split['rssAfterTranslateMB'] / graph['rssAfterTranslateMB']:.2f}x")
json.dump({"loadavg": loadavg, "summary": summary, "raw": rows}, open(out, "w"), indent=1)
print(f"\nwrote {out}")
