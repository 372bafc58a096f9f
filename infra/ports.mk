# Loopback ports of the local cluster (shared by the Makefile, infra/local/cluster.sh and the system tests).
RAY_GCS_PORT ?= 6390
RAY_DASHBOARD_PORT ?= 8265
MLFLOW_PORT ?= 5001
MLFLOW_UI_PORT ?= 5002
S3_PORT ?= 5003
# Ray token auth for the cluster, the submitting CLI and the drivers alike (token in ~/.ray/auth_token).
RAY_AUTH_MODE ?= token
export RAY_GCS_PORT RAY_DASHBOARD_PORT MLFLOW_PORT MLFLOW_UI_PORT S3_PORT RAY_AUTH_MODE
