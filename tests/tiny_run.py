"""The smallest real training configuration: mnist5k, a few steps, tiny batches."""

TINY = [
    "--dataset", "mnist5k", "--epochs", "3", "--iters-per-epoch", "4", "--batch-size", "20",
    "--labels", "20", "--precision", "fp32", "--no-progress",
    "--set", "init_batch_size=100", "--set", "sample_grid=16", "--set", "final_score_samples=0",
    "--set", "epoch_score_every=0",
]

# `improved-gan reproduce table1` at the same scale (every run of a tiny table)
TINY_TABLE1 = [
    "--dataset", "mnist5k", "--epochs", "2", "--no-progress",
    "--set", "iters_per_epoch=4", "--set", "batch_size=20", "--set", "init_batch_size=100",
    "--set", "sample_grid=16", "--set", "final_score_samples=0", "--set", "epoch_score_every=0",
    "--set", "precision=fp32",
]
