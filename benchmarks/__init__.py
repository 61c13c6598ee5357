"""Benchmarks of the book and the ``vae`` package, as ratios against references timed in the
same run (``python -m benchmarks``; see ``benchmarks/README.md``)."""
