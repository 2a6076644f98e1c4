#!/usr/bin/env bash
# Production-size figures. Builds, with models/training/ and PyTorch, a randomly initialised Marian with
# Helsinki-NLP/opus-mt-en-zh's exact shapes (d_model 512, 6+6 layers, 8 heads, FFN 2048, vocab 65,001; generation
# capped at 64 tokens) in two exports, constant folding on (lm_head as its own [512, 65001] initializer, as
# torch/Optimum write it by default) and off, into MODELS (default bench/opus-shape/model/, git-ignored): about 1 GB
# of ONNX (578 + 445 MB), plus the q4/q8 variants tools/Quantize writes beside them. Built once and reused by later
# runs. Then, in one run beside the embedded model:
#   1. load time, peak RSS and resident RSS: C# with the split output projection (the default), C# running the graphs
#      as they are, transformers.js;
#   2. the engine benchmark (bench/run.sh) on the embedded model and on the opus-shaped ones, for each graph variant in
#      DTYPES: the opus-shaped q4 and q8 files are made by tools/Quantize with its defaults (the recipe a user runs).
#   bash bench/opus-shape.sh                          (needs PyTorch: builds the opus-shaped models first)
#   OUT=bench/results bash bench/opus-shape.sh        (also keep the results in a folder)
#   LOAD=0 SPEED=embedded bash bench/opus-shape.sh    (the embedded model only: no PyTorch, nothing built)
# The opus-shaped models (and PyTorch) are needed unless LOAD=0 and SPEED names only "embedded".
# Environment: REPEAT (3) runs of each, medians; LIMIT (40) dev sentences for the speed runs (all 500: LIMIT=500);
# THREADS (1) intra-op threads for both engines; SPEED ("embedded unfolded folded") which models get speed runs;
# DTYPES ("fp32 q4 q8") the variants in the speed runs; LOAD (1) runs part 1, LOAD=0 skips it;
# BASELINE=0 is passed on to bench/run.sh (skips its logits-from-the-graph rows);
# OTHER_BUILD: another build's translate.dll, whose split load is measured too (engine "csharp, baseline build");
# OUT: a folder for the results (<date>-opus-shape-load[-n].json/.md and bench/run.sh's files); without it the
# tables are only printed; MODELS: where the opus-shaped models are built; CT2: CTranslate2's build (bench/run.sh),
# which then runs beside the C# engine on every model.
# Needs: apt-get install -y python3-torch python3-onnx python3-sentencepiece sentencepiece python3-numpy libopenblas0-openmp
# (only for the opus-shaped models), the .NET 10 SDK, Node.js 20+.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-bench/opus-shape/model}
repeat=${REPEAT:-3}
limit=${LIMIT:-40}
threads=${THREADS:-1}
speed=${SPEED:-embedded unfolded folded}
dtypes=${DTYPES:-fp32 q4 q8}
dev=models/training/data/dev.tsv
opus=0
[ "${LOAD:-1}" != 0 ] && opus=1
for which in $speed; do [ "$which" = embedded ] || opus=1; done
(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error; })
dotnet build tools/Translate -c Release -v quiet -nologo >/dev/null
translate=tools/Translate/bin/Release/net10.0/translate.dll
if [ "$opus" = 1 ]; then
  /usr/bin/python3 -c 'import torch, onnx, sentencepiece' 2>/dev/null \
    || { echo "the opus-shaped models need Debian's python3-torch python3-onnx python3-sentencepiece" \
      "(see models/training/README.md); LOAD=0 SPEED=embedded measures the embedded model alone" >&2; exit 1; }
  if [ ! -f "$models/folded/onnx/decoder_model_merged.onnx" ] || [ ! -f "$models/unfolded/onnx/decoder_model_merged.onnx" ]; then
    echo "building two opus-mt-en-zh-shaped models with PyTorch into $models (about 1 GB of ONNX) before measuring" >&2
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/opus_shape_model.py "$models"
  fi
  dotnet build tools/Quantize -c Release -v quiet -nologo >/dev/null
  for export in folded unfolded; do
    for dtype in $dtypes; do
      [ "$dtype" = fp32 ] || [ -f "$models/$export/onnx/decoder_model_merged_$([ "$dtype" = q8 ] && echo quantized || echo "$dtype").onnx" ] \
        || dotnet tools/Quantize/bin/Release/net10.0/quantize.dll --model "$models/$export" --dtype "$dtype"
    done
  done
fi
stamp=$(date -u +%Y-%m-%d)
unique() { local f="$OUT/$stamp-$1.json" n=1; while [ -e "$f" ]; do n=$((n + 1)); f="$OUT/$stamp-$1-$n.json"; done; echo "$f"; }

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
    if [ -n "${OTHER_BUILD:-}" ]; then
      dotnet "$OTHER_BUILD" memory --model "$model" --input "$dev" --threads "$threads" \
        | sed 's/"engine":"csharp"/"engine":"csharp, baseline build"/' | tag >> "$raw"
    fi
    node bench/transformersjs-memory.mjs "$model" "$dev" "$threads" 2>/dev/null | tag >> "$raw"
  done
done
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  out=$(unique opus-shape-load)
  /usr/bin/python3 bench/summarize_memory.py "$raw" "$out" "$before / $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${out%.json}.md"
else
  /usr/bin/python3 bench/summarize_memory.py "$raw" "$raw.json" "$before / $(cut -d' ' -f1-3 /proc/loadavg)" | sed '/^wrote /d'  # the JSON is temporary
fi
fi
rm -f "$raw" "$raw.json"

# 2. Speed, the first LIMIT dev sentences through both engines.
head -n "$limit" "$dev" > "$raw.tsv"
for which in $speed; do
  case $which in
    embedded) NAME=embedded REPEAT=$repeat THREADS=$threads DTYPES=$dtypes bash bench/run.sh models/marian-tiny-en-zh "$raw.tsv" ;;
    *)
      state=
      if [ -n "${CT2:-}" ]; then
        # torch stored the random init's identical zero biases / unit norms once: CT2's converter rebuilds the state
        # dict from the seed (checked against every ONNX initializer), see ../shared/ctranslate2/README.md.
        state=$models/ct2-state.npz
        [ -f "$state" ] || PYTHONPATH="$CT2/python" /usr/bin/python3 "${CT2_TOOLS:-../shared/ctranslate2}/marian_to_ct2.py" \
          state-from-seed "$models/$which" "$state" --marian-dir models/training --seed 11 >&2
      fi
      NAME="opus-shape-$which" REPEAT=$repeat THREADS=$threads DTYPES=$dtypes BEAMS=${BEAMS:-1,4} CT2_STATE=$state \
      bash bench/run.sh "$models/$which" "$raw.tsv" ;;
  esac
done
rm -f "$raw.tsv"
