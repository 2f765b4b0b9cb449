#!/usr/bin/env bash
# Seed N customers (default 100,000) into a fresh benchmark database and compare with a raw COPY
# of the same rows into the same table, in the same run. Options: see `bench/seed.py --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/seed.py "$@"
