"""Benchmarks: each bench_<area>.py has main() -> rows; run_all.py writes bench/README.md."""
