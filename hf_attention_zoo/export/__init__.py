"""Export to other inference engines (CTranslate2)."""
