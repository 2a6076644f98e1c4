#!/usr/bin/env bash
# Speed of the C# engine against transformers.js, in one run on this machine, same ONNX files, same sentences.
#   bash bench/run.sh [modelDir] [sentences.tsv]     (defaults: the shipped model, the 500 dev sentences)
#   OUT=bench/results bash bench/run.sh              (also keep the results in a folder)
# Prints a table with the ratios. Writes files only with OUT=<dir>: <dir>/<date>[-NAME][-n].json (raw rows and
# medians; -n when that name exists, so no run overwrites another) and the table as .md beside it.
# Medians of REPEAT runs (default 3).
# THREADS (default 1) sets ONNX Runtime's intra-op threads for both engines alike. DTYPES (default "fp32") lists the
# graph variants to measure, e.g. DTYPES="fp32 q4 q8": each is run by both engines from the same files (fp32 also as
# the logits-from-the-graph baseline). LIMIT (default 0 = all) takes the first N sentences. BEAMS (default 1,4) the
# C# beam widths. BASELINE=0 skips the logits-from-the-graph baseline rows (C# with the output projection left in the
# decoder graph).
# Needs: the .NET 10 SDK, Node.js 20+ (transformers.js is installed into models/training/transformersjs/node_modules,
# git-ignored, on first use), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/marian-tiny-en-zh}
input=${2:-models/training/data/dev.tsv}
repeat=${REPEAT:-3}
threads=${THREADS:-1}
dtypes=${DTYPES:-fp32}
limit=${LIMIT:-0}
(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error; })
dotnet build tools/Translate -c Release -v quiet -nologo >/dev/null
raw=$(mktemp)
before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$repeat"); do
  # The engine as it ships, and as a baseline with the decoder graphs run as they are (logits from the graph).
  for dtype in $dtypes; do
    for logits in split graph; do
      [ "$logits" = graph ] && { [ "$dtype" != fp32 ] || [ "${BASELINE:-1}" = 0 ]; } && continue
      dotnet tools/Translate/bin/Release/net10.0/translate.dll bench --model "$model" --input "$input" --threads "$threads" \
        --logits "$logits" --dtype "$dtype" --beams "${BEAMS:-1,4}" --json "$raw.cs" $([ "$limit" -gt 0 ] && echo --limit "$limit") >/dev/null
      /usr/bin/python3 -c 'import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' "$raw.cs" >> "$raw"
    done
    node bench/transformersjs.mjs "$model" "$input" 32 "$limit" "$threads" "$dtype" 2>/dev/null >> "$raw"
  done
done
if [ -n "${OUT:-}" ]; then
  # One file per run: a second run on the same day must not overwrite the first (or a committed one).
  mkdir -p "$OUT"
  base="$OUT/$(date -u +%Y-%m-%d)${NAME:+-$NAME}"
  out="$base.json"
  n=1
  while [ -e "$out" ]; do n=$((n + 1)); out="$base-$n.json"; done
  /usr/bin/python3 bench/summarize.py "$raw" "$out" "$(nproc)" "$before / $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${out%.json}.md"
  echo "results: $out, ${out%.json}.md" >&2
else
  /usr/bin/python3 bench/summarize.py "$raw" "$raw.json" "$(nproc)" "$before / $(cut -d' ' -f1-3 /proc/loadavg)" | sed '/^wrote /d'  # the JSON is temporary
fi
rm -f "$raw" "$raw.cs" "$raw.json"
