"""Reads a /metrics endpoint over HTTP into {(sample name, labels): value}, and the names it declares."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# The series each metric type exposes besides its family name.
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 for a labelled child not created yet (counters start at 0)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


def series_names(families: Iterable[Metric]) -> set[str]:
    """Every series name the families declare, labelled metrics with no child yet included."""
    return {f.name + suffix for f in families for suffix in _SUFFIXES.get(f.type, ("",))}


def families(text: str) -> list[Metric]:
    return list(text_string_to_metric_families(text))
