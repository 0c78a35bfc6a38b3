"""Reports: findings as a Polars table, summaries, and one writer per output format."""
