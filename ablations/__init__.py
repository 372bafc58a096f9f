"""The LiT ablation report: MLflow runs -> the paper's tables and figures (entry point: ablations/report.py).

A package installed with litlab (``pip install -e .``), so its modules import as ``ablations.<module>`` from
anywhere, and their names never clash with other packages' top-level modules.
"""
