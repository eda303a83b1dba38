"""The project's benchmarks: speed targets of SPEC §6, measured as ratios in one run."""
