#!/usr/bin/env bash
# Local run: Azurite (from npm) -> containers, queues and the model uploaded -> `func start`, or, where Core Tools
# cannot be installed, the same Functions host from a host build (FUNCTIONS_HOST_DIR).
# Prerequisites: Node 20+ with `npm ci` run in the repo root, .NET 10 SDK, and either Azure Functions Core Tools v4
# (`func`), which this script cannot install for you, or FUNCTIONS_HOST_DIR.
# Environment: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002), AZURITE_LOCATION (<repo>/.azurite),
#              MODEL_DIR (<repo>/models/marian-tiny-en-zh), MODEL_NAME (marian-tiny-en-zh),
#              FUNCTIONS_HOST_DIR: a Functions host build (a folder with start-host.sh and
#              Microsoft.Azure.WebJobs.Script.WebHost.dll, e.g. ../shared/functions-host); used instead of `func`, it runs
#              the published app with local.settings.json's Values as environment variables, on FUNCTIONS_HOST_PORT (7071),
#              keeping keys and logs in FUNCTIONS_HOST_STATE_DIR (<repo>/.functions-host),
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

host_dir="${FUNCTIONS_HOST_DIR:-}"
if [[ -z "$host_dir" ]] && ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
error: Azure Functions Core Tools v4 ('func') is not installed, so the app cannot be started.
Storage is provisioned (Azurite stops with this script). Install Core Tools v4, e.g.
  npm install -g azure-functions-core-tools@4
or see https://learn.microsoft.com/azure/azure-functions/functions-run-local, then run this script again;
or set FUNCTIONS_HOST_DIR to a Functions host build (a folder with start-host.sh), e.g. ../shared/functions-host.
MSG
  exit 127
fi
if [[ -n "$host_dir" && ! -f "$host_dir/start-host.sh" ]]; then
  echo "error: FUNCTIONS_HOST_DIR=$host_dir has no start-host.sh." >&2
  exit 1
fi

if [[ "${PROMETHEUS:-0}" == 1 ]]; then
  export Monitoring__PrometheusEnabled=true
  "$root/scripts/start-prometheus.sh" &
  prometheus_pid=$!
  trap 'kill "$prometheus_pid" 2>/dev/null || true; wait "$prometheus_pid" 2>/dev/null || true; cleanup' EXIT
fi

if [[ -z "$host_dir" ]]; then
  # The exported AzureWebJobsStorage (with the ports chosen above) takes precedence over local.settings.json.
  cd "$root/FunctionApp"
  func start
  exit $?
fi

# The host build runs a published app and reads no local.settings.json: its Values become environment variables here,
# as func does, and what the environment already sets (AzureWebJobsStorage above) wins, as with func.
publish="$root/FunctionApp/bin/local-host"
dotnet publish "$root/FunctionApp" -c Release -o "$publish" --nologo -v quiet
settings_env=()
while IFS= read -r -d '' name && IFS= read -r -d '' value; do
  if ! printenv "$name" >/dev/null; then settings_env+=("$name=$value"); fi
done < <(node -e 'const v = require(process.argv[1]).Values || {};
  for (const [k, x] of Object.entries(v)) process.stdout.write(`${k}\0${x}\0`);' "$settings")

port="${FUNCTIONS_HOST_PORT:-7071}"
state="${FUNCTIONS_HOST_STATE_DIR:-$root/.functions-host}"
mkdir -p "$state/secrets"
# Unlike `func start`, the host checks function keys; one is made here once, so it can be printed.
if [[ ! -f "$state/secrets/host.json" ]]; then
  new_key() { head -c 30 /dev/urandom | base64 | tr '+/' '-_'; }
  printf '\xef\xbb\xbf{"masterKey": {"name": "master", "value": "%s", "encrypted": false},
 "functionKeys": [{"name": "default", "value": "%s", "encrypted": false}], "systemKeys": []}\n' \
    "$(new_key)" "$(new_key)" > "$state/secrets/host.json"
fi
key=$(node -e 'const fs = require("fs");
  const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8").replace(/^\uFEFF/, ""));
  console.log(j.functionKeys[0].value);' "$state/secrets/host.json")
echo "Functions host from $host_dir on http://127.0.0.1:$port; function key: $key"
echo "  curl -s -X POST 'http://127.0.0.1:$port/api/translate' -H 'x-functions-key: $key' -H 'Content-Type: application/json' -d '{\"text\": \"How are you?\"}'"
env "${settings_env[@]}" FUNCTIONS_HOST_PORT="$port" FUNCTIONS_HOST_STATE_DIR="$state" \
  bash "$host_dir/start-host.sh" "$publish"
