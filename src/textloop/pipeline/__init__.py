"""Training as a sequence of steps: load splits, fit candidates, select, evaluate, register."""
