"""Runs the benchmark: `python -m bench [--smoke] [--out bench/results]`."""

from bench.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
