"""Evaluation: translation metrics (sacreBLEU, chrF, perplexity), also as an `evaluate` module; attention maps of
returned hypotheses (`attention_maps`); beam-search error analysis (`search_errors`)."""
