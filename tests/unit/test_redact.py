"""Credentials in a URI never reach a message, a saved file or a report."""

import pytest
from litlab.redact import redact


@pytest.mark.parametrize("uri,shown", [
    ("http://user:hunter2@127.0.0.1:5001", "http://user:***@127.0.0.1:5001"),
    ("https://ghp_token@mlflow.example/api", "https://***@mlflow.example/api"),  # a bare token as the user part
    ("postgresql://me:p@ss@db:5432/mlflow", "postgresql://me:***@db:5432/mlflow"),  # an '@' inside the password
    ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
    ("sqlite:////tmp/mlruns/mlflow.db", "sqlite:////tmp/mlruns/mlflow.db"),
    ("file:/x/user@host", "file:/x/user@host"),  # an '@' in a path is not a credential
])
def test_redact_masks_the_secret_and_keeps_the_rest(uri, shown):
    assert redact(uri) == shown
