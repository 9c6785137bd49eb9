"""Training: the loop, its steps, the run folder, checkpoints and the EMA."""
