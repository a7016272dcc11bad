"""Benchmark harness: the hot paths measured against their physical limits in one run (`python -m bench`)."""
