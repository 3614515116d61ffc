"""Verifying a split: send requests and classify them (split.py), compare two targets (compare.py), render the
result (report.py), the statistics (stats/) and the pytest plugin (pytest_plugin.py)."""
