#!/usr/bin/env bash
# Local cluster on loopback: a Ray head (GCS, dashboard / job API) and an MLflow tracking server.
#   bash infra/local/cluster.sh up|down|status
# Ports come from the environment (infra/ports.mk sets them under make). State lives in .cluster/
# ($LITLAB_CLUSTER_STATE). `down` runs `ray stop --force`, which stops every Ray process of this user here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
STATE=${LITLAB_CLUSTER_STATE:-$ROOT/.cluster}
BIN=${BIN:-$ROOT/.venv/bin}
RAY_GCS_PORT=${RAY_GCS_PORT:-6390}
RAY_DASHBOARD_PORT=${RAY_DASHBOARD_PORT:-8265}
MLFLOW_PORT=${MLFLOW_PORT:-5001}
RAY_NUM_CPUS=${RAY_NUM_CPUS:-$(nproc)}
export PATH=$BIN:$PATH HF_HUB_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
# Ray token auth, explicitly: the head, `ray job submit` and every driver must agree (the token is ~/.ray/auth_token).
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
AUTH=()

wait_http() {  # url seconds
  for _ in $(seq "$2"); do curl -sf "${AUTH[@]}" "$1" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "error: $1 did not answer within $2 s" >&2; return 1
}

up() {
  mkdir -p "$STATE/artifacts"
  if [ "$RAY_AUTH_MODE" = token ]; then
    AUTH=(-H "Authorization: Bearer $("$BIN/ray" get-auth-token --generate 2>/dev/null | tail -1)")
  fi
  if ! curl -sf "http://127.0.0.1:$MLFLOW_PORT/health" >/dev/null 2>&1; then
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false nohup "$BIN/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" \
      --workers 1 --backend-store-uri "sqlite:///$STATE/mlflow.db" --artifacts-destination "$STATE/artifacts" \
      > "$STATE/mlflow.log" 2>&1 &
    echo $! > "$STATE/mlflow.pid"
  fi
  if ! "$BIN/ray" status --address "127.0.0.1:$RAY_GCS_PORT" >/dev/null 2>&1; then
    "$BIN/ray" start --head --node-ip-address 127.0.0.1 --port "$RAY_GCS_PORT" --num-cpus "$RAY_NUM_CPUS" \
      --dashboard-host 127.0.0.1 --dashboard-port "$RAY_DASHBOARD_PORT" --include-dashboard true \
      --disable-usage-stats > "$STATE/ray.log" 2>&1 || { cat "$STATE/ray.log" >&2; exit 1; }
  fi
  wait_http "http://127.0.0.1:$MLFLOW_PORT/health" 90
  wait_http "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" 60
  echo "Ray head:  127.0.0.1:$RAY_GCS_PORT   dashboard + job API: http://127.0.0.1:$RAY_DASHBOARD_PORT"
  echo "MLflow:    http://127.0.0.1:$MLFLOW_PORT   (store $STATE/mlflow.db)"
  echo "Submit:    $BIN/ray job submit --address http://127.0.0.1:$RAY_DASHBOARD_PORT --working-dir . -- \\"
  echo "             python experiments/design_grid.py --preset smoke --mlflow-uri http://127.0.0.1:$MLFLOW_PORT"
}

down() {
  "$BIN/ray" stop --force >/dev/null 2>&1 || true
  if [ -f "$STATE/mlflow.pid" ]; then
    pid=$(cat "$STATE/mlflow.pid")
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    rm -f "$STATE/mlflow.pid"
  fi
  echo "cluster stopped (state kept in $STATE)"
}

status() {
  "$BIN/ray" status --address "127.0.0.1:$RAY_GCS_PORT" || true
  curl -sf "http://127.0.0.1:$MLFLOW_PORT/health" && echo " MLflow up" || echo "MLflow down"
}

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
