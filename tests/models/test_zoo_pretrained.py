"""The loss of both families under Trainer's token-count normalisation (`num_items_in_batch`), which makes the
loss and its gradient independent of how a global batch is split over processes."""

import pytest
import torch

from support import rnn_fixtures
from support import transformer_fixtures

FAMILIES = {"rnn": rnn_fixtures.tiny_model, "transformer": transformer_fixtures.tiny_model}


def labelled_batch():
    input_ids = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 1, 1]])
    labels = torch.tensor([[11, 12, 13, 2], [14, 2, -100, -100]])
    return dict(input_ids=input_ids, attention_mask=input_ids.ne(1).long(), labels=labels)


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_with_num_items_in_batch_is_the_summed_loss_divided_by_it(family):
    model = FAMILIES[family]()
    batch = labelled_batch()
    tokens = int(batch["labels"].ne(-100).sum())
    mean = model(**batch).loss
    assert model(**batch, num_items_in_batch=tokens).loss.item() == pytest.approx(mean.item(), rel=1e-6)
    # A global batch with twice the tokens (the other half on another process): half the contribution.
    half = model(**batch, num_items_in_batch=torch.tensor(2 * tokens)).loss
    assert half.item() == pytest.approx(mean.item() / 2, rel=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_trainer_passes_the_token_count(family, tmp_path):
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

    trainer = Seq2SeqTrainer(model=FAMILIES[family](), args=Seq2SeqTrainingArguments(output_dir=str(tmp_path),
                                                                                     report_to="none"))
    assert trainer.model_accepts_loss_kwargs
