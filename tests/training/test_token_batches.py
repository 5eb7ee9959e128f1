"""Token-budget batches (fairseq's --max-tokens): every example once per epoch, no batch over the budget, the same
batches in a new order each epoch, a resumed epoch continuing where it stopped, several processes sharing the
batches without losing one, and train.py training with them."""

import numpy as np
import pytest
import torch
from accelerate import skip_first_batches
from accelerate.data_loader import BatchSamplerShard, DataLoaderShard
from torch.utils.data import TensorDataset

from hf_attention_zoo.training.token_batches import TokenBudgetBatchSampler, example_sizes
from tests.support.scripts import load_script

LENGTHS = np.random.default_rng(0).integers(3, 40, size=500).tolist()


def test_every_example_once_and_no_batch_over_the_budget():
    sampler = TokenBudgetBatchSampler(LENGTHS, max_tokens=200)
    sampler.set_epoch(3)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
    assert all(len(batch) * max(LENGTHS[i] for i in batch) <= 200 for batch in batches)
    # Batches are filled: adding the next example of the length order would have passed the budget.
    short = [batch for batch in batches if max(LENGTHS[i] for i in batch) <= 10]
    assert short and all(len(batch) >= 200 // 10 - 1 for batch in short[:-1])
    assert len(sampler) == len(batches)


def test_batches_hold_examples_of_similar_length():
    batches = list(TokenBudgetBatchSampler(LENGTHS, max_tokens=200, shuffle=False))
    spreads = [max(LENGTHS[i] for i in batch) - min(LENGTHS[i] for i in batch) for batch in batches]
    assert max(spreads) <= 2  # sorted by length: a batch spans at most three neighbouring lengths here
    padded = sum(len(batch) * max(LENGTHS[i] for i in batch) for batch in batches)
    assert sum(LENGTHS) / padded > 0.95  # under 5 % of a batch's tokens are padding
    assert [max(LENGTHS[i] for i in batch) for batch in batches] == sorted(max(LENGTHS[i] for i in b) for b in batches)


def test_the_same_batches_each_epoch_in_an_order_fixed_by_seed_and_epoch():
    sampler = TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=7)
    epochs = []
    for epoch in (0, 1, 0):
        sampler.set_epoch(epoch)
        epochs.append(list(sampler))
    assert epochs[0] == epochs[2] and epochs[0] != epochs[1]
    assert sorted(map(tuple, epochs[0])) == sorted(map(tuple, epochs[1]))
    again = TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=7)
    again.set_epoch(1)
    assert list(again) == epochs[1]
    other_seed = TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=8)
    assert list(other_seed) != epochs[0]


def test_a_resumed_epoch_continues_with_the_batches_it_had_not_seen():
    # Trainer's resume path: skip_first_batches on the prepared loader, then set_epoch, then iterate.
    dataset = TensorDataset(torch.arange(len(LENGTHS)))
    loader = DataLoaderShard(dataset, batch_sampler=TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=1))
    loader.set_epoch(2)
    full = [batch[0].tolist() for batch in loader]
    resumed = skip_first_batches(loader, 5)
    resumed.set_epoch(2)
    resumed.batch_sampler.batch_sampler.set_epoch(2)  # Trainer reaches the wrapped sampler the same way
    assert [batch[0].tolist() for batch in resumed] == full[5:]


@pytest.mark.parametrize("processes", [2, 3])
def test_processes_share_the_batches_evenly_and_lose_no_example(processes):
    single = TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=1)
    sampler = TokenBudgetBatchSampler(LENGTHS, max_tokens=200, seed=1, batches_multiple_of=processes)
    assert len(sampler) % processes == 0 and len(sampler) - len(single) < processes  # only the first few repeated
    # as TokenBudgetTrainerMixin prepares it: Accelerate takes batches i, i + n, ... with even_batches off
    shards = [list(BatchSamplerShard(sampler, num_processes=processes, process_index=rank, even_batches=False))
              for rank in range(processes)]
    assert {len(shard) for shard in shards} == {len(sampler) // processes}  # the same number of updates each
    assert sorted(i for shard in shards for batch in shard for i in batch) == sorted(
        i for batch in sampler for i in batch)
    assert {i for shard in shards for batch in shard for i in batch} == set(range(len(LENGTHS)))


@pytest.mark.parametrize("max_tokens, message", [(0, "must be a positive"), (30, "raise --max_tokens_per_batch to at "
                                                                                   "least 39")])
def test_a_budget_that_cannot_work_is_refused_with_the_fix(max_tokens, message):
    with pytest.raises(ValueError, match=message):
        TokenBudgetBatchSampler(LENGTHS, max_tokens=max_tokens)


def test_example_size_is_the_longer_side():
    assert example_sizes({"input_ids": [[1] * 4, [1] * 9], "labels": [[1] * 6, [1] * 2]}) == [6, 9]


def test_train_script_trains_on_token_budget_batches(tmp_path, capsys):
    summary = load_script("train").main([
        "--output_dir", str(tmp_path), "--num_train", "300", "--num_validation", "16", "--num_test", "16",
        "--preset", "small", "--config_overrides", "hidden_size=16,embedding_size=16", "--num_train_epochs", "1",
        "--max_tokens_per_batch", "400", "--num_samples", "0", "--early_stopping_patience", "0",
    ])
    printed = capsys.readouterr().out
    batches = int(printed.split("tokens (padding included) per process: ")[1].split(" batches")[0])
    assert summary["steps"] == batches  # one epoch, one update per token-budget batch
    assert batches < 300 // 64 * 4  # well under one update per 16 sentences: the batches hold many short dates
    card = (tmp_path / "README.md").read_text()
    assert "| global batch size | at most 400 tokens per process (padding included) × 1 |" in card
    assert "| sampling | token budget" in card
