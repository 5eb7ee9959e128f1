"""Separate source and target vocabularies in both families (Marian's `decoder_vocab_size`): the tables and the
output layer have each side's size, bad ids and bad configs are refused naming the side, and generation, scores,
resizing and saving work with the two sizes."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError

from hf_attention_zoo import RNNSeq2SeqConfig, TransformerSeq2SeqConfig
from support import rnn_fixtures, transformer_fixtures

SOURCE, TARGET = 99, 57


def build(family: str):
    if family == "rnn":
        return rnn_fixtures.tiny_model(decoder_vocab_size=TARGET)
    return transformer_fixtures.tiny_model(decoder_vocab_size=TARGET, share_encoder_decoder_embeddings=False)


FAMILIES = ["rnn", "transformer"]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_side_has_its_own_size(family):
    model = build(family)
    assert model.get_input_embeddings().num_embeddings == SOURCE
    assert model.get_decoder().embed_tokens.num_embeddings == TARGET
    assert model.lm_head.out_features == TARGET
    ids = torch.randint(3, SOURCE, (2, 6))  # source ids beyond the target vocabulary are fine
    labels = torch.randint(3, TARGET, (2, 4))
    out = model(input_ids=ids, labels=labels)
    assert out.logits.shape == (2, 4, TARGET) and torch.isfinite(out.loss)


@pytest.mark.parametrize("family", FAMILIES)
def test_target_ids_beyond_the_target_vocabulary_are_refused(family):
    model = build(family)
    with pytest.raises(ValueError, match=rf"decoder_input_ids holds ids in \[\d+, {TARGET}\].*\[0, {TARGET}\)"):
        model(input_ids=torch.tensor([[5, 6]]), decoder_input_ids=torch.tensor([[0, TARGET]]))


@pytest.mark.parametrize("family", FAMILIES)
def test_generation_and_transition_scores_use_the_target_width(family):
    model = build(family)
    ids = torch.randint(3, SOURCE, (2, 6))
    out = model.generate(ids, max_new_tokens=4, num_beams=3, output_scores=True, return_dict_in_generate=True,
                         length_penalty=0.0)
    assert out.scores[0].shape[-1] == TARGET
    transition = model.compute_transition_scores(out.sequences, out.scores, out.beam_indices, normalize_logits=False)
    lengths = (transition < 0).sum(dim=1)
    torch.testing.assert_close(transition.sum(dim=1), out.sequences_scores, atol=1e-4, rtol=0)
    assert torch.all(lengths > 0)
    assert model.config.vocab_size == SOURCE  # restored after the call


@pytest.mark.parametrize("family", FAMILIES)
def test_save_and_load_keep_both_sizes(family, tmp_path):
    model = build(family)
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    assert (loaded.config.vocab_size, loaded.config.decoder_vocab_size) == (SOURCE, TARGET)
    ids = torch.randint(3, SOURCE, (2, 6))
    assert torch.equal(loaded.generate(ids, max_new_tokens=4), model.generate(ids, max_new_tokens=4))


@pytest.mark.parametrize("family", FAMILIES)
def test_resizing_each_side_of_separate_vocabularies(family):
    model = build(family)
    model.resize_token_embeddings(SOURCE + 5)
    assert model.get_input_embeddings().num_embeddings == SOURCE + 5 and model.lm_head.out_features == TARGET
    model.resize_decoder_token_embeddings(TARGET + 3)
    assert model.get_decoder().embed_tokens.num_embeddings == TARGET + 3 and model.lm_head.out_features == TARGET + 3
    assert (model.config.vocab_size, model.config.decoder_vocab_size) == (SOURCE + 5, TARGET + 3)
    model(input_ids=torch.tensor([[SOURCE + 4]]), decoder_input_ids=torch.tensor([[TARGET + 2]]))


def test_a_joint_vocabulary_defaults_the_target_size_and_resizes_both_sides():
    model = rnn_fixtures.tiny_model()
    assert model.config.decoder_vocab_size == model.config.vocab_size == SOURCE
    model.resize_token_embeddings(SOURCE + 4)
    assert model.config.decoder_vocab_size == model.get_decoder().embed_tokens.num_embeddings == SOURCE + 4
    with pytest.raises(ValueError, match="one joint vocabulary.*resize_token_embeddings"):
        model.resize_decoder_token_embeddings(10)


@pytest.mark.parametrize(
    "config_class, kwargs, message",
    [
        (TransformerSeq2SeqConfig, dict(vocab_size=50, decoder_vocab_size=40),
         r"share_encoder_decoder_embeddings=True shares one embedding table.*vocab_size=50.*decoder_vocab_size=40"
         r".*Set share_encoder_decoder_embeddings=False"),
        (RNNSeq2SeqConfig, dict(vocab_size=50, decoder_vocab_size=2),
         r"pad_token_id=... is outside|eos_token_id=2 is outside the vocabulary \[0, 2\) of decoder_vocab_size"),
        (RNNSeq2SeqConfig, dict(decoder_vocab_size=0), r"decoder_vocab_size=0"),
    ],
)
def test_bad_vocabulary_sizes_fail_naming_the_side_and_the_fix(config_class, kwargs, message):
    with pytest.raises(StrictDataclassError, match=message):
        config_class(**kwargs)
