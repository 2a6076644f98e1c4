#!/usr/bin/env bash
# Conformance check of a model folder before serving it: for each graph variant the folder holds (fp32, fp16,
# q8 = *_quantized, int8, uint8, q4, q4f16, bnb4), the C# engine and transformers.js 4.3.1 translate the bundled
# sentence set (models/conformance/sentences.txt, one sentence a line) greedily, and the output ids must be identical;
# for Helsinki-NLP/opus-mt-en-zh (recognised by its config.json and the >>cmn_Hans<< tokens in vocab.json) the engine
# must also give transformers' own test translation ("My name is Wolfgang and I live in Berlin" ->
# "我叫沃尔夫冈 我住在柏林", 2 beams). Exit code 0 when all of it holds, 1 on a mismatch or a variant that does not load,
# 2 on bad arguments.
#   bash scripts/check-model.sh <modelDir>                        (e.g. a downloaded Xenova/opus-mt-en-zh)
#   bash scripts/check-model.sh <modelDir> --dtype fp32,q4        (only these variants)
#   bash scripts/check-model.sh <modelDir> --sentences my.txt --json report.json
# Needs the .NET 10 SDK and Node.js 20+; builds tools/Translate and installs transformers.js
# (models/training/transformersjs, from the npm registry) on first use.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dotnet build "$repo/tools/Translate" -c Release -v quiet -nologo >/dev/null
(cd "$repo/models/training/transformersjs" \
  && { [ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2; })
exec node "$repo/models/training/transformersjs/check-model.mjs" \
  --translate "$repo/tools/Translate/bin/Release/net10.0/translate.dll" "$@"
