"""fnplane's benchmarks: its calls against ceilings measured in the same run.

Run them from the repository root with `python -m bench` (or `scripts/bench`, which also
installs the load generators); the results go to `bench/results/`.
"""
