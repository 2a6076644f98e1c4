#!/usr/bin/env bash
# Local run: Azurite (from npm) -> containers, queues and the model uploaded -> `func start`.
# Prerequisites: Node 20+ with `npm ci` run in the repo root, .NET 10 SDK, and Azure Functions Core Tools v4
# (`func`), which this script cannot install for you.
# Environment: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002), AZURITE_LOCATION (<repo>/.azurite),
#              MODEL_DIR (<repo>/models/marian-tiny-en-zh), MODEL_NAME (marian-tiny-en-zh),
#              PROMETHEUS=1: the app serves its Prometheus endpoint (port 9464) and scripts/start-prometheus.sh runs a
#              real Prometheus scraping it (UI on http://127.0.0.1:9090); needs the Debian package prometheus.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blob_port="${AZURITE_BLOB_PORT:-10000}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
table_port="${AZURITE_TABLE_PORT:-10002}" # the app uses no tables; settable so it cannot clash
location="${AZURITE_LOCATION:-$root/.azurite}"
model_name="${MODEL_NAME:-marian-tiny-en-zh}"
model_dir="${MODEL_DIR:-$root/models/$model_name}"
azurite="$root/node_modules/.bin/azurite"

if [[ ! -x "$azurite" ]]; then
  echo "error: $azurite not found; run 'npm ci' in $root first." >&2
  exit 1
fi
for port in "$blob_port" "$queue_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use (another Azurite?); set AZURITE_BLOB_PORT / AZURITE_QUEUE_PORT." >&2
    exit 1
  fi
done

mkdir -p "$location"
"$azurite" --silent --disableTelemetry --skipApiVersionCheck \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$blob_port" --queuePort "$queue_port" --tablePort "$table_port" \
  --location "$location" &
azurite_pid=$!
cleanup() {
  if kill -0 "$azurite_pid" 2>/dev/null; then
    kill "$azurite_pid" 2>/dev/null || true
    wait "$azurite_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# Azurite needs ~1.5 s before it listens: poll the ports rather than sleeping a fixed time.
for port in "$blob_port" "$queue_port"; do
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$azurite_pid" 2>/dev/null; then echo "error: Azurite exited during start-up." >&2; exit 1; fi
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "error: Azurite is not listening on $port after 30 s." >&2; exit 1; }
done
echo "Azurite listening: blob $blob_port, queue $queue_port (data in $location)."

key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;"

dotnet run --project "$root/tools/Provision" -- "$AzureWebJobsStorage" "$model_dir" "$model_name/"

settings="$root/FunctionApp/local.settings.json"
if [[ ! -f "$settings" ]]; then
  cp "$root/local.settings.sample.json" "$settings"
  echo "Created $settings from local.settings.sample.json."
fi

if ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
error: Azure Functions Core Tools v4 ('func') is not installed, so the app cannot be started.
Storage is provisioned (Azurite stops with this script). Install Core Tools v4, e.g.
  npm install -g azure-functions-core-tools@4
or see https://learn.microsoft.com/azure/azure-functions/functions-run-local, then run this script again.
MSG
  exit 127
fi

if [[ "${PROMETHEUS:-0}" == 1 ]]; then
  export Monitoring__PrometheusEnabled=true
  "$root/scripts/start-prometheus.sh" &
  prometheus_pid=$!
  trap 'kill "$prometheus_pid" 2>/dev/null || true; wait "$prometheus_pid" 2>/dev/null || true; cleanup' EXIT
fi

# The exported AzureWebJobsStorage (with the ports chosen above) takes precedence over local.settings.json.
cd "$root/FunctionApp"
func start
