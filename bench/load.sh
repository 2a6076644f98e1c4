#!/usr/bin/env bash
# Load benchmark of the serving path: the app's TranslationService, composed by the app's own DI registration,
# model downloaded from Azurite as the app does, batching on and off in the same run.
#   bash bench/load.sh                                    (60 s per point: about 30 minutes)
#   DURATION=5 COLD_REPEAT=1 bash bench/load.sh           (a quick look while developing)
#   OUT=bench/results bash bench/load.sh                  (also keep the raw rows and the summary)
#   POINTS=0 bash bench/load.sh                           (cold starts only: a few minutes)
# Env: DURATION (s per point, 60), WARMUP (s, 5), CONCURRENCY (1,4,16,64), BEAMS (1,4), RATES (open loop, requests/s,
# greedy; 100,400), COLD_REPEAT (3). Prints the summary. Writes files only with OUT=<dir>: <dir>/load-<UTC time>.jsonl
# (raw rows) and .md (the summary), never overwriting an earlier run; otherwise the raw rows live in a temporary
# folder that is removed at the end.
# Needs: the .NET 10 SDK, `npm ci` at the repository root (Azurite), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-60}
warmup=${WARMUP:-5}
concurrency=${CONCURRENCY:-1,4,16,64}
beams=${BEAMS:-1,4}
rates=${RATES:-100,400}
cold_repeat=${COLD_REPEAT:-3}
points=${POINTS:-1}
input=models/training/data/dev.tsv
model=models/marian-tiny-en-zh
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  rows="$OUT/load-$stamp.jsonl"
  summary="${rows%.jsonl}.md"
else
  rows="$scratch/load-$stamp.jsonl"
  summary=/dev/null
fi
[ -x node_modules/.bin/azurite ] || { echo "Azurite is missing: run npm ci at the repository root." >&2; exit 1; }
dotnet build tools/Translate -c Release -v quiet -nologo >/dev/null
translate="dotnet tools/Translate/bin/Release/net10.0/translate.dll"

read -r blob_port queue_port table_port < <(/usr/bin/python3 -c '
import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
location=$(mktemp -d)
node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --blobHost 127.0.0.1 --queueHost 127.0.0.1 \
  --tableHost 127.0.0.1 --blobPort "$blob_port" --queuePort "$queue_port" --tablePort "$table_port" --location "$location" &
azurite=$!
cleanup() { kill "$azurite" 2>/dev/null || true; wait "$azurite" 2>/dev/null || true; rm -rf "$location" "$scratch"; }
trap cleanup EXIT
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$blob_port") 2>/dev/null && break; sleep 0.1; done
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;"
common=(--storage "$storage" --input "$input" --out "$rows")

# Cold: every call a fresh process with an empty model cache; single call and burst of 50 interleaved.
upload=(--upload "$model")
for _ in $(seq "$cold_repeat"); do
  for b in 1 4; do
    for clients in 1 50; do
      $translate cold "${common[@]}" "${upload[@]}" --clients "$clients" --beams "$b"
      upload=()
    done
  done
done
if [ "$points" != 0 ]; then
  $translate load "${common[@]}" --duration "$duration" --warmup "$warmup" --concurrency "$concurrency" --beams "$beams" \
    --rates "$rates" --rate-beams 1
fi
/usr/bin/python3 bench/load_summary.py "$rows" "$(nproc)" "${Serving__MaxPendingSentences:-2048}" | tee "$summary"
[ -z "${OUT:-}" ] || echo "results: $rows, $summary" >&2
