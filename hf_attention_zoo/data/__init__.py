"""Data: the built-in synthetic dates task, parallel-text loaders (local files, Hub datasets), tokenizers and the
translation task a training run saves with its model."""
