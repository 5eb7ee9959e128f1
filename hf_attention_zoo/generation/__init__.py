"""Generation tools around `generate()`: teacher-forced scoring of given outputs (scoring), translation of texts
(translate)."""
