"""`python scripts/benchmark [options]`: the benchmark (see cli.py for the options and what it measures)."""

from cli import main

main()
