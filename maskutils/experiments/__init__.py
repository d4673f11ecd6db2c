"""Many runs of the study outside the dvc pipeline: a grid of datasets x models x seeds
(`maskutils grid`, `grid`) and the bias power study (benchmarks/bias_power.py). `compose` builds a
run's params from profiles and overrides; `runner` runs the runs here, in processes, or as Ray
tasks, with the same results."""
