"""Training: the loop, its steps, the EMA and the data it trains on; the run folder it writes is runs/."""
