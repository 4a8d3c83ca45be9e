"""Benchmarks: ``python -m bench [--quick]`` (``make bench``), results in bench/results.json."""
