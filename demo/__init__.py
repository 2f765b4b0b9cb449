"""The demo data set: `manage.py seed_demo` (and `make run`) seeds it, the benchmarks reuse it."""
