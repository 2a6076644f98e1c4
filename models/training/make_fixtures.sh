#!/usr/bin/env bash
# Regenerates every reference fixture the C# engine tests read, from the shipped model and the training checkpoints:
#   FunctionApp.Tests/Fixtures/spm-pieces.txt             spm_encode pieces of the 500 dev sentences
#   FunctionApp.Tests/Fixtures/spm-pieces-expanding.tsv   input<TAB>spm_encode pieces, for the inputs of
#     expanding_inputs.py (text that NFKC normalisation rewrites, mostly into much longer text)
#   FunctionApp.Tests/Fixtures/transformersjs-greedy.jsonl transformers.js: source ids, greedy ids and text
#   FunctionApp.Tests/Fixtures/pytorch-beam4.jsonl        PyTorch beam search (4 beams), same model
#   FunctionApp.Tests/Fixtures/marian-micro-split/        a micro model in the decoder + decoder_with_past layout,
#     with pytorch-greedy.jsonl, its PyTorch greedy outputs (needs MICRO_CHECKPOINT, see models/training/README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
fixtures=FunctionApp.Tests/Fixtures
mkdir -p "$fixtures"
cut -f1 models/training/data/dev.tsv | spm_encode --model=models/marian-tiny-en-zh/source.spm --output_format=piece > "$fixtures/spm-pieces.txt"
inputs=$(mktemp)
trap 'rm -f "$inputs"' EXIT
$py models/training/expanding_inputs.py > "$inputs"
spm_encode --model=models/marian-tiny-en-zh/source.spm --output_format=piece < "$inputs" | paste "$inputs" - > "$fixtures/spm-pieces-expanding.tsv"
(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund; } && node fixtures.mjs)
$py models/training/beam_reference.py --beams 4 --out "$fixtures/pytorch-beam4.jsonl"
if [ -n "${MICRO_CHECKPOINT:-}" ]; then
  micro="$fixtures/marian-micro-split"
  $py models/training/export_onnx.py --checkpoint "$MICRO_CHECKPOINT" --out "$micro" --layout split
  $py models/training/beam_reference.py --beams 1 --limit 60 --checkpoint "$MICRO_CHECKPOINT" --model-dir "$micro" \
    --out "$micro/pytorch-greedy.jsonl"
fi
