#!/usr/bin/env bash
# Regenerates every reference fixture the C# engine tests read, from the shipped model and the training checkpoints:
#   Engine.Tests/Fixtures/spm-pieces.txt             spm_encode pieces of the 500 dev sentences
#   Engine.Tests/Fixtures/spm-pieces-expanding.tsv   input<TAB>spm_encode pieces, for the inputs of
#     expanding_inputs.py (text that NFKC normalisation rewrites, mostly into much longer text)
#   Engine.Tests/Fixtures/transformersjs-greedy.jsonl transformers.js: source ids, greedy ids and text
#   Engine.Tests/Fixtures/pytorch-beam4.jsonl        PyTorch beam search (4 beams), same model
#   Engine.Tests/Fixtures/pytorch-{greedy,beam4}-settings.jsonl  PyTorch greedy and beam 4 on the first 100 dev
#     sentences with every logits processor on (Fixtures/generation-settings/generation_config.json)
#   Engine.Tests/Fixtures/source-ids.jsonl           text, transformers.js source ids (tokenizer.json) and
#     MarianTokenizer's (spm pieces through vocab.json), for the dev sentences and data/tokenizer-cases.txt
#   Engine.Tests/Fixtures/marian-micro-languages/    a micro model whose vocab holds target-language tokens
#     (language_fixture.py; only with LANGUAGE_FIXTURE=1, since it writes new random weights), with
#     source-ids.jsonl, the same comparison on data/language-cases.txt
#   Engine.Tests/Fixtures/marian-micro-split/        a micro model in the decoder + decoder_with_past layout,
#     with pytorch-greedy.jsonl, its PyTorch greedy outputs (needs MICRO_CHECKPOINT, see models/training/README.md)
#   Engine.Tests/Fixtures/transformersjs-greedy-tjs-<dtype>.jsonl  transformers.js on the variants its quantize.py
#     recipes give (q8 as Xenova's _quantized, int8, uint8, q4, q4f16, bnb4), written by
#     `tools/Quantize --recipe transformers.js` into a copy of the model (only with TJS_VARIANTS=1: needs dotnet)
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
fixtures=Engine.Tests/Fixtures
mkdir -p "$fixtures"
cut -f1 models/training/data/dev.tsv | spm_encode --model=models/marian-tiny-en-zh/source.spm --output_format=piece > "$fixtures/spm-pieces.txt"
inputs=$(mktemp)
trap 'rm -f "$inputs"' EXIT
$py models/training/expanding_inputs.py > "$inputs"
spm_encode --model=models/marian-tiny-en-zh/source.spm --output_format=piece < "$inputs" | paste "$inputs" - > "$fixtures/spm-pieces-expanding.tsv"
(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund; } && node fixtures.mjs)
texts=$(mktemp)
trap 'rm -f "$inputs" "$texts"' EXIT
{ cut -f1 models/training/data/dev.tsv; cat models/training/data/tokenizer-cases.txt; } > "$texts"
node models/training/transformersjs/source-ids.mjs models/marian-tiny-en-zh "$texts" "$fixtures/source-ids.jsonl"
(cd models/training && $py spm_ids.py ../marian-tiny-en-zh "../../$fixtures/source-ids.jsonl" "../../$fixtures/source-ids.jsonl")
languages="$fixtures/marian-micro-languages"
if [ -n "${LANGUAGE_FIXTURE:-}" ]; then
  $py models/training/language_fixture.py --out "$languages"
fi
node models/training/transformersjs/source-ids.mjs "$languages" models/training/data/language-cases.txt "$languages/source-ids.jsonl"
(cd models/training && $py spm_ids.py "../../$languages" "../../$languages/source-ids.jsonl" "../../$languages/source-ids.jsonl")
$py models/training/beam_reference.py --beams 4 --out "$fixtures/pytorch-beam4.jsonl"
for beams in 1 4; do
  name=$([ $beams = 1 ] && echo greedy || echo beam4)
  $py models/training/beam_reference.py --beams $beams --limit 100 --model-dir "$fixtures/generation-settings" \
    --out "$fixtures/pytorch-$name-settings.jsonl"
done
if [ -n "${TJS_VARIANTS:-}" ]; then
  copy=$(mktemp -d)/marian-tiny-en-zh
  mkdir -p "$copy/onnx"
  cp models/marian-tiny-en-zh/*.* "$copy/"
  cp models/marian-tiny-en-zh/onnx/encoder_model.onnx models/marian-tiny-en-zh/onnx/decoder_model_merged.onnx "$copy/onnx/"
  for dtype in q8 int8 uint8 q4 q4f16 bnb4; do
    dotnet run --project tools/Quantize -c Release -- --model "$copy" --dtype "$dtype" --recipe transformers.js
    (cd models/training/transformersjs && node fixtures.mjs "$copy" "../../../$fixtures/transformersjs-greedy-tjs-$dtype.jsonl" "$dtype")
  done
  rm -rf "$(dirname "$copy")"
fi
if [ -n "${MICRO_CHECKPOINT:-}" ]; then
  micro="$fixtures/marian-micro-split"
  $py models/training/export_onnx.py --checkpoint "$MICRO_CHECKPOINT" --out "$micro" --layout split
  $py models/training/beam_reference.py --beams 1 --limit 60 --checkpoint "$MICRO_CHECKPOINT" --model-dir "$micro" \
    --out "$micro/pytorch-greedy.jsonl"
fi
