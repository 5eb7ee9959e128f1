"""Evaluation: translation metrics (sacreBLEU, chrF, perplexity), also as an `evaluate` module."""
