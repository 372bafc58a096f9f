#!/usr/bin/env bash
# A real multi-node cluster on one machine, on loopback: a Ray head and a second Ray worker node (two raylets,
# as Ray's own tests run them), an MLflow tracking server and an S3-compatible server (moto_server) holding the
# demo shards in s3://$S3_BUCKET/data.
#   bash infra/local/cluster.sh up|down|status
# Ports come from the environment (infra/ports.mk sets them under make). State lives in .cluster/
# ($LITLAB_CLUSTER_STATE). `down` runs `ray stop --force`, which stops every Ray process of this user here.
# The S3 server takes moto's fixed test credentials; they are given to the Ray processes only (never logged).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
STATE=${LITLAB_CLUSTER_STATE:-$ROOT/.cluster}
BIN=${BIN:-$ROOT/.venv/bin}
RAY_GCS_PORT=${RAY_GCS_PORT:-6390}
RAY_DASHBOARD_PORT=${RAY_DASHBOARD_PORT:-8265}
MLFLOW_PORT=${MLFLOW_PORT:-5001}
S3_PORT=${S3_PORT:-5003}
S3_BUCKET=${S3_BUCKET:-litlab}
DATA_ROOT=${LITLAB_DATA_ROOT:-$HOME/.cache/litlab/data}
CPUS=$(nproc)
RAY_HEAD_CPUS=${RAY_HEAD_CPUS:-$(( CPUS > 1 ? CPUS / 2 : 1 ))}
RAY_WORKER_CPUS=${RAY_WORKER_CPUS:-$(( CPUS - RAY_HEAD_CPUS > 0 ? CPUS - RAY_HEAD_CPUS : 1 ))}
OBJECT_STORE=${RAY_OBJECT_STORE_BYTES:-400000000}
export PATH=$BIN:$PATH HF_HUB_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
# Ray token auth, explicitly: the head, `ray job submit` and every driver must agree (the token is ~/.ray/auth_token).
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
AUTH=()

wait_http() {  # url seconds [curl args...]
  local url=$1 secs=$2; shift 2
  for _ in $(seq "$secs"); do curl -s -o /dev/null "$@" "$url" 2>/dev/null && return 0; sleep 1; done
  echo "error: $url did not answer within $secs s" >&2; return 1
}

start_s3() {
  if ! curl -s -o /dev/null "http://127.0.0.1:$S3_PORT" 2>/dev/null; then
    nohup "$BIN/moto_server" -H 127.0.0.1 -p "$S3_PORT" > "$STATE/s3.log" 2>&1 &
    echo $! > "$STATE/s3.pid"
  fi
  wait_http "http://127.0.0.1:$S3_PORT" 60
  # the demo shards, copied once into the bucket (training reads data.root=s3://$S3_BUCKET/data)
  "$BIN/python" - "$S3_BUCKET" "$DATA_ROOT" <<'PY'
import sys
import boto3
from pyarrow import fs
from litlab import storage
bucket, local = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
dest = f"s3://{bucket}/data"
if storage.exists(storage.join(dest, "train", "_stats.json")):
    print(f"S3 data:   {dest} (already there)")
else:
    s3fs, path = storage.resolve(dest)
    fs.copy_files(local, path, destination_filesystem=s3fs)
    print(f"S3 data:   {dest} (copied from {local})")
PY
}

up() {
  mkdir -p "$STATE/artifacts"
  [ -f "$DATA_ROOT/train/_stats.json" ] || { echo "error: no demo shards in $DATA_ROOT; run make data" >&2; exit 1; }
  if [ "$RAY_AUTH_MODE" = token ]; then
    AUTH=(-H "Authorization: Bearer $("$BIN/ray" get-auth-token --generate 2>/dev/null | tail -1)")
  fi
  export AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
         AWS_DEFAULT_REGION=us-east-1
  start_s3
  if ! curl -sf "http://127.0.0.1:$MLFLOW_PORT/health" >/dev/null 2>&1; then
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false nohup "$BIN/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" \
      --workers 1 --backend-store-uri "sqlite:///$STATE/mlflow.db" --artifacts-destination "$STATE/artifacts" \
      > "$STATE/mlflow.log" 2>&1 &
    echo $! > "$STATE/mlflow.pid"
  fi
  if ! "$BIN/ray" status --address "127.0.0.1:$RAY_GCS_PORT" >/dev/null 2>&1; then
    "$BIN/ray" start --head --node-ip-address 127.0.0.1 --port "$RAY_GCS_PORT" --num-cpus "$RAY_HEAD_CPUS" \
      --object-store-memory "$OBJECT_STORE" --dashboard-host 127.0.0.1 --dashboard-port "$RAY_DASHBOARD_PORT" \
      --include-dashboard true --disable-usage-stats > "$STATE/ray.log" 2>&1 || { cat "$STATE/ray.log" >&2; exit 1; }
    # the second node: its own raylet and object store, joined to the head's GCS
    "$BIN/ray" start --address "127.0.0.1:$RAY_GCS_PORT" --node-ip-address 127.0.0.1 --num-cpus "$RAY_WORKER_CPUS" \
      --object-store-memory "$OBJECT_STORE" --disable-usage-stats > "$STATE/ray-worker.log" 2>&1 \
      || { cat "$STATE/ray-worker.log" >&2; exit 1; }
  fi
  wait_http "http://127.0.0.1:$MLFLOW_PORT/health" 90 -f
  wait_http "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" 60 -f "${AUTH[@]}"
  echo "Ray:       2 nodes (head $RAY_HEAD_CPUS CPU, worker $RAY_WORKER_CPUS CPU) at 127.0.0.1:$RAY_GCS_PORT;" \
       "dashboard + job API http://127.0.0.1:$RAY_DASHBOARD_PORT"
  echo "MLflow:    http://127.0.0.1:$MLFLOW_PORT   (store $STATE/mlflow.db)"
  echo "S3:        http://127.0.0.1:$S3_PORT   (moto_server; bucket $S3_BUCKET)"
  echo "Submit:    $BIN/ray job submit --address http://127.0.0.1:$RAY_DASHBOARD_PORT --working-dir . -- \\"
  echo "             python experiments/design_grid.py --preset smoke --mlflow-uri http://127.0.0.1:$MLFLOW_PORT \\"
  echo "             --set data.root=s3://$S3_BUCKET/data --storage s3://$S3_BUCKET/ray"
}

stop_pid() {  # name
  if [ -f "$STATE/$1.pid" ]; then
    pid=$(cat "$STATE/$1.pid")
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    rm -f "$STATE/$1.pid"
  fi
}

down() {
  "$BIN/ray" stop --force >/dev/null 2>&1 || true
  stop_pid mlflow
  stop_pid s3
  echo "cluster stopped (state kept in $STATE; the S3 server's data is gone with it)"
}

status() {
  "$BIN/ray" status --address "127.0.0.1:$RAY_GCS_PORT" || true
  curl -sf "http://127.0.0.1:$MLFLOW_PORT/health" && echo " MLflow up" || echo "MLflow down"
  curl -s -o /dev/null "http://127.0.0.1:$S3_PORT" && echo "S3 up" || echo "S3 down"
}

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
