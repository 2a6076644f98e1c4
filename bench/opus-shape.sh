#!/usr/bin/env bash
# Production-size figures. Builds, with models/training/, a randomly initialised Marian with Helsinki-NLP/opus-mt-en-zh's
# exact shapes (d_model 512, 6+6 layers, 8 heads, FFN 2048, vocab 65,001; generation capped at 64 tokens) in two
# exports, constant folding on (lm_head as its own [512, 65001] initializer, as torch/Optimum write it by default) and
# off, into bench/opus-shape/model/ (git-ignored); then, in one run beside the embedded model:
#   1. load time, peak RSS and resident RSS: C# with the split output projection (the default), C# running the graphs
#      as they are, transformers.js;
#   2. the engine benchmark (bench/run.sh) on the embedded model and on the opus-shaped ones, for each graph variant in
#      DTYPES: the opus-shaped q4 and q8 files are made by tools/Quantize with its defaults (the recipe a user runs).
#   bash bench/opus-shape.sh
# Environment: REPEAT (3) runs of each, medians; LIMIT (40) dev sentences for the speed runs (all 500: LIMIT=500);
# THREADS (1) intra-op threads for both engines; SPEED ("embedded unfolded folded") which models get speed runs;
# DTYPES ("fp32 q4 q8") the variants in the speed runs; LOAD (1) runs part 1, LOAD=0 skips it;
# BASELINE: another build's translate.dll, whose split load is measured too (engine "csharp, baseline build").
# Needs: apt-get install -y python3-torch python3-onnx python3-sentencepiece sentencepiece python3-numpy libopenblas0-openmp
set -euo pipefail
cd "$(dirname "$0")/.."
models=bench/opus-shape/model
repeat=${REPEAT:-3}
limit=${LIMIT:-40}
threads=${THREADS:-1}
speed=${SPEED:-embedded unfolded folded}
dev=models/training/data/dev.tsv
/usr/bin/python3 -c 'import torch, onnx, sentencepiece' 2>/dev/null \
  || { echo "needs Debian's python3-torch python3-onnx python3-sentencepiece (see models/training/README.md)" >&2; exit 1; }
(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error; })
if [ ! -f "$models/folded/onnx/decoder_model_merged.onnx" ] || [ ! -f "$models/unfolded/onnx/decoder_model_merged.onnx" ]; then
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/opus_shape_model.py "$models"
fi
dotnet build tools/Translate -c Release -v quiet -nologo >/dev/null
dotnet build tools/Quantize -c Release -v quiet -nologo >/dev/null
translate=tools/Translate/bin/Release/net10.0/translate.dll
dtypes=${DTYPES:-fp32 q4 q8}
for export in folded unfolded; do
  for dtype in $dtypes; do
    [ "$dtype" = fp32 ] || [ -f "$models/$export/onnx/decoder_model_merged_$([ "$dtype" = q8 ] && echo quantized || echo "$dtype").onnx" ] \
      || dotnet tools/Quantize/bin/Release/net10.0/quantize.dll --model "$models/$export" --dtype "$dtype"
  done
done
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%d)
unique() { local f="bench/results/$stamp-$1.json" n=1; while [ -e "$f" ]; do n=$((n + 1)); f="bench/results/$stamp-$1-$n.json"; done; echo "$f"; }

# 1. Loading. Each row is a fresh process; runs of one model interleave the three engines so that load on the
# machine (shared, noisy) hits them alike.
raw=$(mktemp)
if [ "${LOAD:-1}" != 0 ]; then
before=$(cut -d' ' -f1-3 /proc/loadavg)
for model in models/marian-tiny-en-zh "$models/folded" "$models/unfolded"; do
  name=$(basename "$model"); [ "$name" = marian-tiny-en-zh ] || name="opus-shape $name"
  # The fp32 graphs that load here (the folder may also hold quantized variants).
  mb=$(du -b "$model"/onnx/encoder_model.onnx "$model"/onnx/decoder_model_merged.onnx | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
  tag() { /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); r.update(model=sys.argv[1], onnxMB=float(sys.argv[2])); print(json.dumps(r))' "$name" "$mb"; }
  for i in $(seq "$repeat"); do
    for logits in split graph; do
      dotnet "$translate" memory --model "$model" --input "$dev" --threads "$threads" --logits "$logits" | tag >> "$raw"
    done
    if [ -n "${BASELINE:-}" ]; then
      dotnet "$BASELINE" memory --model "$model" --input "$dev" --threads "$threads" \
        | sed 's/"engine":"csharp"/"engine":"csharp, baseline build"/' | tag >> "$raw"
    fi
    node bench/transformersjs-memory.mjs "$model" "$dev" "$threads" 2>/dev/null | tag >> "$raw"
  done
done
out=$(unique opus-shape-load)
/usr/bin/python3 bench/summarize_memory.py "$raw" "$out" "$before / $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${out%.json}.md"
fi
rm -f "$raw"

# 2. Speed, the first LIMIT dev sentences through both engines.
head -n "$limit" "$dev" > "$raw.tsv"
for which in $speed; do
  case $which in
    embedded) NAME=embedded REPEAT=$repeat THREADS=$threads DTYPES=$dtypes bash bench/run.sh models/marian-tiny-en-zh "$raw.tsv" ;;
    *) NAME="opus-shape-$which" REPEAT=$repeat THREADS=$threads DTYPES=$dtypes BEAMS=${BEAMS:-1,4} \
      bash bench/run.sh "$models/$which" "$raw.tsv" ;;
  esac
done
rm -f "$raw.tsv"
