"""Training: the §5.3 learning-rate schedule, the model options of the scripts, and resuming from checkpoints."""
