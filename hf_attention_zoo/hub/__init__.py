"""The Hub: model cards rendered from the templates in model_cards/."""
