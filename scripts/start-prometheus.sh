#!/usr/bin/env bash
# A local Prometheus (Debian package `prometheus`, 2.42+) scraping the app's metrics endpoint, with the alert rules of
# infra/k8s/components/prometheus loaded, so a developer sees the series, graphs and alert states in its UI.
# The app serves the endpoint when Monitoring__PrometheusEnabled=true (scripts/start-local.sh sets it when
# PROMETHEUS=1). Runs in the foreground; Ctrl-C stops it and removes its data.
# Environment: METRICS_TARGET (127.0.0.1:9464, the app's Monitoring__PrometheusPort), PROMETHEUS_PORT (9090),
#              SCRAPE_INTERVAL (5s).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${METRICS_TARGET:-127.0.0.1:9464}"
port="${PROMETHEUS_PORT:-9090}"
interval="${SCRAPE_INTERVAL:-5s}"

if ! command -v prometheus >/dev/null; then
  echo "error: prometheus is not installed; on Debian/Ubuntu: sudo apt-get install -y prometheus" >&2
  exit 1
fi

data="$(mktemp -d "${TMPDIR:-/tmp}/si-prometheus.XXXXXX")"
trap 'rm -rf "$data"' EXIT
cp "$root/infra/k8s/components/prometheus/alerts.rules.yaml" "$data/"
cat > "$data/prometheus.yml" <<YAML
global:
  scrape_interval: $interval
  evaluation_interval: $interval
rule_files:
  - alerts.rules.yaml
scrape_configs:
  - job_name: serverless-inference
    static_configs:
      - targets: ["$target"]
YAML

echo "Prometheus UI: http://127.0.0.1:$port (scraping http://$target/metrics; Alerts tab: the repo's rules)"
prometheus --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT INT TERM
wait "$pid"
