"""A zoo RNN whose next-token distribution is a table p(v | previous token), written into its weights: the decoder
is a tanh RNN with no recurrence (W_hh = 0) that reads one-hot embeddings, so its state is the previous token and the
output layer holds the log-probabilities. Search and length-normalisation tests build cases whose answer is known
from it (the source is ignored: the decoder sees it only through an initial state that W_hh = 0 discards)."""

import math

import torch

from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration

BOS, PAD, EOS = 0, 1, 2
VOCAB = 16
SHARPNESS = 20.0  # tanh(20) = 1 - 8e-18: the state is the one-hot previous token to float precision
IMPOSSIBLE = -40.0  # log-probability of the tokens a row leaves out (before the softmax renormalises)


def bigram_model(table: dict[int, dict[int, float]]) -> RNNSeq2SeqForConditionalGeneration:
    """`table[previous][token]` = p(token | previous) (each row summing to 1); previous tokens missing from the table
    lead to eos."""
    config = RNNSeq2SeqConfig(
        vocab_size=VOCAB, embedding_size=VOCAB, hidden_size=VOCAB, encoder_hidden_size=VOCAB, encoder_layers=1,
        decoder_layers=1, cell_type="rnn", attention_type="none", attention_wiring="luong",
        bidirectional_encoder=False, decoder_reads_context=False, decoder_init="encoder_final", dropout=0.0,
        bos_token_id=BOS, pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=BOS,
    )
    model = RNNSeq2SeqForConditionalGeneration(config).eval()
    log_probs = torch.full((VOCAB, VOCAB), IMPOSSIBLE)  # (next token, previous token)
    for previous in range(VOCAB):
        row = table.get(previous, {EOS: 1.0})
        assert abs(sum(row.values()) - 1.0) < 1e-9, f"p(. | {previous}) sums to {sum(row.values())}"
        for token, probability in row.items():
            log_probs[token, previous] = math.log(probability)
    decoder = model.model.decoder
    with torch.no_grad():
        decoder.embed_tokens.weight.copy_(torch.eye(VOCAB))
        layer = decoder.layers[0]
        layer.weight_ih_l0.copy_(SHARPNESS * torch.eye(VOCAB))
        layer.weight_hh_l0.zero_()
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
        model.lm_head.weight.copy_(log_probs / math.tanh(SHARPNESS))
    return model


def source(length: int = 4) -> torch.Tensor:
    """Any source: the model ignores it."""
    return torch.arange(3, 3 + length)[None]


def letter_tokenizer():
    """A character tokenizer learned on "abcdefghijkl": a -> 4, b -> 5, ..., l -> 15 (specials 0-3 first), so the
    letters are the bigram model's tokens."""
    from datasets import Dataset, DatasetDict

    from hf_attention_zoo.data.subword_tokenizer import train_tokenizer

    corpus = DatasetDict({"train": Dataset.from_dict({"translation": [{"src": "abcdefghijkl", "tgt": "abcdefghijkl"}]})})
    return train_tokenizer(corpus, ["src", "tgt"], model="char")


def save_folder_and_corpus(folder, model, tokenizer, max_new_tokens: int, splits: dict[str, tuple[str, str]]):
    """Save `model` (generating at most `max_new_tokens`) and `tokenizer` in `folder/model`, and parallel files
    `folder/data/<split>.src|.tgt` (src -> tgt) from `splits[split] = (source lines, target lines)`; returns the
    script options that name them."""
    from hf_attention_zoo.data.subword_tokenizer import save_tokenizers

    model.generation_config.max_new_tokens = max_new_tokens
    model.save_pretrained(folder / "model")
    save_tokenizers(folder / "model", tokenizer)
    data = folder / "data"
    data.mkdir()
    for split, (sources, targets) in splits.items():
        (data / f"{split}.src").write_text(sources)
        (data / f"{split}.tgt").write_text(targets)
    return ["--model", str(folder / "model"), "--dataset", str(data), "--source_lang", "src", "--target_lang", "tgt"]
