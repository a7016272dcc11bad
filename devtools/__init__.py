"""Developer tooling: local Redis processes and helpers."""
