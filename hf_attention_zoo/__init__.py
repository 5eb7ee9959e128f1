"""hf_attention_zoo: the classic attention models as first-class Hugging Face transformers models.

Importing the package registers every config and model with AutoConfig, AutoModel and AutoModelForSeq2SeqLM.
"""
