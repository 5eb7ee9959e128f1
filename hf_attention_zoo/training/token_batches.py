"""Batches by a token budget (fairseq's `--max-tokens`): `scripts/train.py --max_tokens_per_batch 1200`.

Sentence-count batches hold 64 short sentences or 64 long ones alike, so a batch of short ones does little work per
update and a batch of long ones much. A token budget fills every batch to about the same size, padding included:
examples of similar length are batched together (sorted by length, ties broken at random), as many as fit under the
budget, and the batches' order is shuffled each epoch.

Trainer takes the batches through `TokenBudgetTrainerMixin`; Accelerate shards them over processes (process i takes
batches i, i + n, ...), so `--max_tokens_per_batch` is per process, like fairseq's. The sampler makes the batch count
a multiple of the process count itself: older Accelerate releases (1.7) cannot even out batches of varying size.
"""

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import DataLoader, Sampler


class TokenBudgetBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices with at most `max_tokens` tokens each, padding included.

    An example's size is the longer of its source and its target (as in fairseq); a batch of n examples whose longest
    is L costs n × L. The batches are made once, so every epoch has the same batches; `set_epoch` (which Trainer calls)
    shuffles their order, the same way for the same seed and epoch, so a resumed run sees the order it would have seen.

    Args:
        lengths: the size of each example, in tokens.
        max_tokens: the budget of one batch, padding included; it must hold the longest example.
        seed: seeds the tie-breaking and the shuffles.
        shuffle: shuffle the batches' order each epoch (False: shortest first).
        batches_multiple_of: the process count; the first batches are repeated until the batch count is a multiple of
            it, so every process makes the same number of updates (what Accelerate's `even_batches` does for fixed-size
            batches).

    Raises:
        ValueError: a budget below 1 or below the longest example, naming both.
    """

    def __init__(self, lengths: Sequence[int], max_tokens: int, seed: int = 0, shuffle: bool = True,
                 batches_multiple_of: int = 1):
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) == 0:
            raise ValueError("TokenBudgetBatchSampler got no examples; the training split is empty.")
        if max_tokens < 1:
            raise ValueError(f"max_tokens={max_tokens} must be a positive number of tokens per batch.")
        longest = int(lengths.max())
        if longest > max_tokens:
            raise ValueError(f"max_tokens={max_tokens} cannot hold the longest training example ({longest} tokens, "
                             f"example {int(lengths.argmax())}); raise --max_tokens_per_batch to at least {longest} "
                             "or lower --max_source_length / --max_target_length.")
        self.max_tokens = max_tokens
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        batches = self._make_batches(lengths, max_tokens, np.random.default_rng(seed))
        self.batches = batches + batches[: -len(batches) % batches_multiple_of]

    @staticmethod
    def _make_batches(lengths: np.ndarray, max_tokens: int, rng: np.random.Generator) -> list[list[int]]:
        # Sort by length; a random permutation first breaks ties at random (a stable sort keeps it).
        order = rng.permutation(len(lengths))
        order = order[np.argsort(lengths[order], kind="stable")]
        batches, batch, longest = [], [], 0
        for index in order.tolist():
            longest_with = max(longest, int(lengths[index]))
            if batch and (len(batch) + 1) * longest_with > max_tokens:
                batches.append(batch)
                batch, longest_with = [], int(lengths[index])
            batch.append(index)
            longest = longest_with
        batches.append(batch)
        return batches

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            yield from self.batches
            return
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.batches))
        for position in order.tolist():
            yield self.batches[position]

    def __len__(self) -> int:
        return len(self.batches)


def example_sizes(dataset, source_column: str = "input_ids", target_column: str = "labels") -> list[int]:
    """Each example's size for a token budget: the longer of its source and its target, in tokens."""
    return [max(len(source), len(target)) for source, target in zip(dataset[source_column], dataset[target_column])]


class TokenBudgetTrainerMixin:
    """A Trainer mixin: with `max_tokens_per_batch` set, the training batches come from `TokenBudgetBatchSampler`
    instead of `per_device_train_batch_size` sentences; evaluation batches are unchanged.

    Set `trainer.max_tokens_per_batch` (tokens per batch and process, padding included) before `train()`.
    """

    max_tokens_per_batch: int | None = None
    _token_batches: TokenBudgetBatchSampler | None = None

    def token_batch_sampler(self) -> TokenBudgetBatchSampler:
        """The training batches, made once (on the first call) from the training split's sizes."""
        if self._token_batches is None:
            if self.train_dataset is None:
                raise ValueError("Trainer: training requires a train_dataset.")
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            self._token_batches = TokenBudgetBatchSampler(example_sizes(self.train_dataset), self.max_tokens_per_batch,
                                                          seed=seed, batches_multiple_of=self.args.world_size)
        return self._token_batches

    def get_train_dataloader(self) -> DataLoader:
        if not self.max_tokens_per_batch:
            return super().get_train_dataloader()
        sampler = self.token_batch_sampler()
        dataset = self._remove_unused_columns(self.train_dataset, description="Training")
        loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=self.data_collator,
                            num_workers=self.args.dataloader_num_workers, pin_memory=self.args.dataloader_pin_memory)
        # The sampler already gives every process the same number of batches; Accelerate must not even them out itself
        # (1.7 refuses to for batches without a fixed size).
        even_batches, self.accelerator.even_batches = self.accelerator.even_batches, False
        try:
            return self.accelerator.prepare(loader)
        finally:
            self.accelerator.even_batches = even_batches


__all__ = ["TokenBudgetBatchSampler", "TokenBudgetTrainerMixin", "example_sizes"]
