"""The model code that every saved model folder carries: `save_pretrained` copies these files (the family's
configuration and modeling files and the siblings they import) so that `trust_remote_code=True` loads the folder
where this package is not installed.

The rules that keep that true (tests/models/test_remote_code_boundary.py enforces them):
- one flat folder, files named by family; siblings import each other only as `from .x import Y`;
- third-party imports only from torch, transformers and huggingface_hub (and the standard library);
- nothing here imports the rest of the package (data, training, evaluation, export, hub), which may import this.
This file imports nothing, so that it never becomes part of a saved folder.
"""
