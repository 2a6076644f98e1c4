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
# CT2=<dir>: also run CTranslate2 (float32 and int8) on the same weights and sentences, greedy and beam 4, batch 1 and
# 32; <dir> is the OUT_DIR of ../shared/ctranslate2/build.sh (its python/ holds the module). The model is converted
# once with ../shared/ctranslate2/marian_to_ct2.py into bench/ct2/ (git-ignored); CT2_STATE passes a state dict to the
# converter (a random-init export: see that README), CT2_TOOLS the folder holding the converter (default
# ../shared/ctranslate2). The summary then gains C# / CT2 ratios.
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
ct2_tools=${CT2_TOOLS:-../shared/ctranslate2}
if [ -n "${CT2:-}" ]; then
  ct2_model=bench/ct2/$(echo "$model" | tr '/' '_')
  if [ ! -f "$ct2_model/model.bin" ]; then
    PYTHONPATH="$CT2/python" /usr/bin/python3 "$ct2_tools/marian_to_ct2.py" convert "$model" "$ct2_model" \
      ${CT2_STATE:+--state "$CT2_STATE"} >&2
  fi
fi
raw=$(mktemp)
before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$repeat"); do
  # Guardrails off: the peers have none, and a random-weight model's loops would otherwise end C# sentences early
  # (less work, not more speed). The engine as it ships, and as a baseline with the decoder graphs run as they are (logits from the graph).
  for dtype in $dtypes; do
    for logits in split graph; do
      [ "$logits" = graph ] && { [ "$dtype" != fp32 ] || [ "${BASELINE:-1}" = 0 ]; } && continue
      dotnet tools/Translate/bin/Release/net10.0/translate.dll bench --model "$model" --input "$input" --threads "$threads" \
        --logits "$logits" --dtype "$dtype" --beams "${BEAMS:-1,4}" --guardrails off --json "$raw.cs" $([ "$limit" -gt 0 ] && echo --limit "$limit") >/dev/null
      /usr/bin/python3 -c 'import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' "$raw.cs" >> "$raw"
    done
    node bench/transformersjs.mjs "$model" "$input" 32 "$limit" "$threads" "$dtype" 2>/dev/null >> "$raw"
  done
  if [ -n "${CT2:-}" ]; then
    # A float32 CT2 model runs as int8 by its compute type (weights quantized per row at load, as CT2 users run it).
    for compute in float32 int8; do
      PYTHONPATH="$CT2/python" /usr/bin/python3 "$ct2_tools/bench.py" "$model" "$ct2_model" "$input" "$compute" \
        --threads "$threads" --beams "${BEAMS:-1,4}" --batch 1,32 --no-ids $([ "$limit" -gt 0 ] && echo --limit "$limit") \
        2>/dev/null >> "$raw"
    done
  fi
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
