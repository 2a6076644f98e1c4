"""Summary of a bench/load.sh run: tables from its raw rows, ending with the three ratio lines issue 10 asks for."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cores = sys.argv[2] if len(sys.argv) > 2 else "?"
max_pending = int(sys.argv[3]) if len(sys.argv) > 3 else 2048


def hist(h):
    def lo(k):
        return int(k.split("-")[0].rstrip("+"))
    return " ".join(f"{k}:{v}" for k, v in sorted(h.items(), key=lambda kv: lo(kv[0])))


def mode(r):
    # Rows before continuous batching (2026-12-02) had only batching on (whole batches: "dynamic") or off.
    return r.get("mode") or ("dynamic" if r["batching"] else "off")


def find(kind, m, beams, clients=None, rate=None):
    for r in rows:
        if r["kind"] == kind and mode(r) == m and r["beams"] == beams and r.get("clients") == clients \
                and r.get("rate") == rate:
            return r
    return None


loads = [r[k] for r in rows for k in ("load1Before", "load1After", "load1") if k in r]
serving = [r for r in rows if r["kind"] in ("closed", "open")]
seconds = sorted({round(r["seconds"]) for r in serving if r["kind"] == "closed"})
print(f"# Serving under load (bench/load.sh)\n")
print(f"{cores} cores, shared with other builds: 1-minute load average {min(loads):.1f}-{max(loads):.1f} during the run "
      f"(so absolute numbers are noisy; the modes ran interleaved, point by point, so noise hits them alike). "
      f"Batching modes: continuous (inputs join a running decode at a step boundary; the app's default), dynamic "
      f"(whole batches run to their end), off (each request runs by itself). With continuous batching a run is one "
      f"decoder step, and its size the sentences decoding in it. "
      f"Closed-loop points ran ~{seconds[0] if seconds else '?'} s each.\n")
print("## Closed loop (N clients, one dev sentence per request)\n")
print("| beams | clients | batching | req/s | sentences/s | p50 ms | p90 ms | p99 ms | shed (503) | mean batch | batch sizes (runs) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in [r for r in serving if r["kind"] == "closed"]:
    print(f"| {r['beams']} | {r['clients']} | {mode(r)} | {r['requestsPerSecond']:.1f} | "
          f"{r['sentencesPerSecond']:.1f} | {r['p50Ms']:.0f} | {r['p90Ms']:.0f} | {r['p99Ms']:.0f} | {r['shed']} | "
          f"{r['meanBatch']:.1f} | {hist(r['batches'])} |")
opens = [r for r in serving if r["kind"] == "open"]
if opens:
    print("\n## Open loop (fixed arrival rate, latency from scheduled arrival)\n")
    print("| beams | arrivals/s | batching | sent | answered/s | p50 ms | p90 ms | p99 ms | max ms | shed (503) | mean batch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in opens:
        print(f"| {r['beams']} | {r['rate']} | {mode(r)} | {r.get('sent', '')} | {r['requestsPerSecond']:.1f} | "
              f"{r['p50Ms']:.0f} | {r['p90Ms']:.0f} | {r['p99Ms']:.0f} | {r['maxMs']:.0f} | {r['shed']} | {r['meanBatch']:.1f} |")

    for r in opens:
        if r["shed"] > 0 and r["sentencesPerSecond"] > 0:
            print(f"\nShedding at {r['rate']} arrivals/s, batching {mode(r)}: {r['shed']} of "
                  f"{r.get('sent', '?')} turned away; accepted p99 {r['p99Ms'] / 1000:.1f} s against the bound the limit "
                  f"sets, {max_pending} pending sentences / {r['sentencesPerSecond']:.0f} sentences/s = "
                  f"{max_pending / r['sentencesPerSecond']:.1f} s of queue (plus the run in progress).")

print("\n## Where the time goes (closed loop)\n")
print("Engine busy = sum of engine run durations / wall time (above 1: runs overlapped on the cores); mean run = one "
      "engine run's duration.\n")
print("| beams | clients | batching | engine runs | mean run ms | engine busy |")
print("|---|---|---|---|---|---|")
for r in [r for r in serving if r["kind"] == "closed"]:
    print(f"| {r['beams']} | {r['clients']} | {mode(r)} | {r['engineRuns']} | "
          f"{r['meanRunMs']:.1f} | {r['engineBusyShare']:.2f} |")

colds = [r for r in rows if r["kind"] == "cold"]
print("\n## Cold start (fresh process, empty model cache, model downloaded from Azurite)\n")
print("| beams | calls at once | runs | p50 ms (median) | p99 ms (median) | max ms (median) | downloads per run | download ms | model load ms |")
print("|---|---|---|---|---|---|---|---|---|")
cold = {}
for b in sorted({r["beams"] for r in colds}):
    for c in sorted({r["clients"] for r in colds}):
        rs = [r for r in colds if r["beams"] == b and r["clients"] == c]
        if not rs:
            continue
        for r in rs:
            r.setdefault("loadMs", r.get("sessionMs", 0))  # rows before 2026-11-26 18:00 UTC had session creation only
        med = {k: statistics.median(r[k] for r in rs) for k in ("p50Ms", "p99Ms", "maxMs", "downloadMs", "loadMs")}
        cold[(b, c)] = med
        print(f"| {b} | {c} | {len(rs)} | {med['p50Ms']:.0f} | {med['p99Ms']:.0f} | {med['maxMs']:.0f} | "
              f"{'/'.join(str(r['downloads']) for r in rs)} | {med['downloadMs']:.0f} | {med['loadMs']:.0f} |")

# Where a single greedy cold call spends its load (rows from 2026-12-02 on carry the engine's phases): medians over runs.
phased = [r for r in colds if r["beams"] == 1 and r["clients"] == 1 and r.get("loadPhases")]
if phased:
    names = list(dict.fromkeys(k for r in phased for k in r["loadPhases"]))
    print("\n## Where a single greedy cold call's time goes (medians of its runs, ms)\n")
    print("Before the call (not in its latency): process start to first call "
          f"{statistics.median(r['processStartToFirstCallSeconds'] for r in phased) * 1000:.0f} ms (runtime start-up, JIT, "
          "composing the app). In the call: listing + download, then the engine's phases below (the encoder session "
          "opens while the rest downloads), then the first translation.\n")
    if any("wall clock" in k for k in names):
        print("Since 2026-12-02 (issue 22) the engine loads its parts at once (tokenizer, encoder, decoder chain, the "
              "projection's sessions): those phases overlap, so they add up to more than the engine's wall-clock "
              "phase, and a phase's time includes waiting for a core.\n")
    print("| phase | ms | share of the call |")
    print("|---|---|---|")
    call = statistics.median(r["p50Ms"] for r in phased)
    for name in ["download"] + names:
        ms = statistics.median(r["downloadMs"] if name == "download" else r["loadPhases"].get(name, 0) * 1000 for r in phased)
        print(f"| {name} | {ms:.0f} | {ms / call:.0%} |")
    load = statistics.median(r["loadMs"] for r in phased)
    print(f"| model ready (listing, download and load, as the host times it) | {load:.0f} | {load / call:.0%} |")
    print(f"| the call (model ready + first translation) | {call:.0f} | 100% |")

def ratio(a, b, key):
    return a[key] / b[key] if a and b and b[key] else float("nan")


# "on" is the app's default: continuous batching where the run has it, whole batches in older runs.
on = "continuous" if any(mode(r) == "continuous" for r in serving) else "dynamic"
on16, dyn16, off16 = find("closed", on, 1, 16), find("closed", "dynamic", 1, 16), find("closed", "off", 1, 16)
on1, dyn1, off1 = find("closed", on, 1, 1), find("closed", "dynamic", 1, 1), find("closed", "off", 1, 1)
offline = next((r for r in rows if r["kind"] == "offline" and r["beams"] == 1), None)
burst = cold[(1, 50)]["p99Ms"] / cold[(1, 1)]["p50Ms"] if (1, 50) in cold and (1, 1) in cold else float("nan")
if offline:
    print(f"\nEngine alone, offline (same sentences, length-sorted whole batches of 32, greedy, best of "
          f"{offline['passes']} passes): {offline['sentencesPerSecond']:.1f} sentences/s.")
print("\nTargets (issue 10): throughput >= 4x at 16 clients; lone-request p50 <= 1.10x; cold burst p99 <= 2x a single "
      "cold call; p99 at 64 clients bounded by shedding. Issue 22: continuous batching, serving at 16 clients >= 0.8 "
      "of the engine's best offline throughput, lone-request p50 within 1.10x of dynamic batching.\n")
print(f"serving throughput, batching on / off, concurrency 16: {ratio(on16, off16, 'requestsPerSecond'):.2f}x")
print(f"serving p50 latency, batching on / off, concurrency 1: {ratio(on1, off1, 'p50Ms'):.2f}x")
if on == "continuous":
    print(f"continuous batching, throughput on / dynamic batching, concurrency 16: "
          f"{ratio(on16, dyn16, 'requestsPerSecond'):.2f}x")
    print(f"continuous batching, p50 latency on / dynamic batching, concurrency 1: {ratio(on1, dyn1, 'p50Ms'):.2f}x")
    p99 = " / ".join(f"{c} clients {r['p99Ms']:.0f} ms" for c in (16, 64) if (r := find("closed", on, 1, c)))
    print(f"continuous batching, p99 latency: {p99}")
if offline and on16:
    print(f"serving throughput at concurrency 16 / engine best offline throughput: "
          f"{on16['sentencesPerSecond'] / offline['sentencesPerSecond']:.2f}")
single = cold[(1, 1)]["p50Ms"] / 1000 if (1, 1) in cold else float("nan")
print(f"single cold call, embedded model: {single:.2f} s")
print(f"cold burst of 50, p99 / single cold call: {burst:.2f}x")
