#!/usr/bin/env bash
# Regenerates and checks the conversion fixtures: a Hugging Face-format Marian checkpoint converted by
# convert_checkpoint.py must give the same greedy ids in PyTorch (on the checkpoint's own weights, read from
# pytorch_model.bin and from model.safetensors), in transformers.js and in the C# engine (on the converted folder).
#   Engine.Tests/Fixtures/hf-marian-checkpoint/     the checkpoint (hf_checkpoint_fixture.py; rebuilt only with
#     CHECKPOINT=1, since that writes new weights)
#   Engine.Tests/Fixtures/marian-micro-converted/   the converted folder, with pytorch-greedy.jsonl and
#     transformersjs-greedy.jsonl on models/conformance/sentences.txt, which ConvertedCheckpointTests hold the
#     engine to in CI
# Steps: the converter's own tests (test_convert_checkpoint.py: refusals, both weight formats alike); the
# conversion from each weight file (the two ONNX outputs must be byte-identical); the references; the three-way
# comparison, the engine's through tools/Translate. Exits non-zero on any difference.
#   bash models/training/check_conversion.sh
#   CHECKPOINT=1 bash models/training/check_conversion.sh           (new checkpoint weights, then all of the above)
#   VOCAB=65001 OUT=/tmp/opus-vocab bash models/training/check_conversion.sh
#     (the same with opus-mt-en-zh's full vocabulary size, padded with filler pieces, in OUT instead of the fixtures:
#      4 MB a weight copy, so not committed; STEPS=300 trains it for fewer steps, each costs ~8x more than at 1,778 ids)
# Needs: python3-torch python3-onnx python3-sentencepiece python3-numpy (Debian), Node.js 20+, the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
sentences=models/conformance/sentences.txt
if [ -n "${OUT:-}" ]; then
  checkpoint="$OUT/checkpoint"
  converted="$OUT/converted"
else
  checkpoint=Engine.Tests/Fixtures/hf-marian-checkpoint
  converted=Engine.Tests/Fixtures/marian-micro-converted
fi
checkpoint=$(realpath -m "$checkpoint")
converted=$(realpath -m "$converted")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${VOCAB:-}" ]; then
  [ -n "${OUT:-}" ] || { echo "VOCAB needs OUT (the full-size folders are not fixtures)" >&2; exit 2; }
  $py models/training/hf_checkpoint_fixture.py --out "$checkpoint" --vocab-size "$VOCAB" --steps "${STEPS:-2000}"
elif [ -n "${CHECKPOINT:-}" ] || [ ! -f "$checkpoint/config.json" ]; then
  $py models/training/hf_checkpoint_fixture.py --out "$checkpoint"
fi
if [ -z "${OUT:-}" ]; then
  (cd models/training && $py -m unittest test_convert_checkpoint)
fi

rm -rf "$converted" "$tmp/from-bin"
$py models/training/convert_checkpoint.py "$checkpoint" "$converted" --weights "$checkpoint/model.safetensors"
$py models/training/convert_checkpoint.py "$checkpoint" "$tmp/from-bin" --weights "$checkpoint/pytorch_model.bin"
for f in onnx/encoder_model.onnx onnx/decoder_model_merged.onnx tokenizer.json config.json generation_config.json; do
  cmp "$converted/$f" "$tmp/from-bin/$f" || { echo "FAIL: $f differs between the bin and safetensors conversions" >&2; exit 1; }
done
echo "the conversions from pytorch_model.bin and model.safetensors are byte-identical"

$py models/training/checkpoint_reference.py "$checkpoint" "$sentences" "$converted/pytorch-greedy.jsonl" \
  --weights "$checkpoint/model.safetensors"
$py models/training/checkpoint_reference.py "$checkpoint" "$sentences" "$tmp/pytorch-bin.jsonl" \
  --weights "$checkpoint/pytorch_model.bin"
cmp "$converted/pytorch-greedy.jsonl" "$tmp/pytorch-bin.jsonl" \
  || { echo "FAIL: PyTorch ids differ between the two weight files" >&2; exit 1; }

(cd models/training/transformersjs && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error; } \
  && node fixtures.mjs "$converted" "$converted/transformersjs-greedy.jsonl" fp32 "../../conformance/sentences.txt") \
  2> >(grep -v 'not yet supported by Hugging Face' >&2)

dotnet build tools/Translate -c Release -v quiet -nologo >/dev/null
dotnet tools/Translate/bin/Release/net10.0/translate.dll translate --model "$converted" --guardrails off --beams 1 --batch 1 \
  < "$sentences" > "$tmp/engine.jsonl"
dotnet tools/Translate/bin/Release/net10.0/translate.dll translate --model "$converted" --guardrails off --beams 1 \
  < "$sentences" > "$tmp/engine-batched.jsonl"

$py - "$converted/pytorch-greedy.jsonl" "$converted/transformersjs-greedy.jsonl" "$tmp/engine.jsonl" \
  "$tmp/engine-batched.jsonl" <<'EOF'
import json
import sys

pytorch, tjs, engine, batched = ([json.loads(l) for l in open(p, encoding="utf-8") if l.strip()] for p in sys.argv[1:])
assert len(pytorch) == len(tjs) == len(engine) == len(batched), "the runs cover different sentence counts"
bad = 0
for p, t, e, b in zip(pytorch, tjs, engine, batched):
    same_source = p["sourceIds"] == t["sourceIds"]
    same_ids = p["ids"] == t["ids"] == e["ids"] == b["ids"]
    if not (same_source and same_ids):
        bad += 1
        print(f"MISMATCH {p['index']}: {p['source']}\n  source ids pytorch {p['sourceIds']}\n"
              f"  source ids transformers.js {t['sourceIds']}\n  pytorch {p['ids'][:20]}\n"
              f"  transformers.js {t['ids'][:20]}\n  engine {e['ids'][:20]}\n  engine batched {b['ids'][:20]}")
lengths = sorted(len(p["ids"]) for p in pytorch)
print(f"{len(pytorch) - bad}/{len(pytorch)} sentences: identical greedy ids in PyTorch, transformers.js and the C# "
      f"engine (alone and batched); output lengths {lengths[0]}..{lengths[-1]}, median {lengths[len(lengths) // 2]}")
sys.exit(1 if bad else 0)
EOF
