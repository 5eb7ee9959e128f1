"""Seq2SeqTrainer trains an RNN attention model on the package's synthetic dates task."""

import torch
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration
from hf_attention_zoo.data.subword_tokenizer import tokenize_translation_dataset, train_tokenizer
from hf_attention_zoo.data.synthetic_dates import SOURCE_LANG, TARGET_LANG, make_dates_dataset


def test_seq2seq_trainer_loss_falls_on_the_dates_task(tmp_path):
    torch.manual_seed(0)
    dataset = make_dates_dataset(num_train=600, num_validation=32, num_test=8, seed=0)
    tokenizer = train_tokenizer(dataset, [SOURCE_LANG, TARGET_LANG], model="char")
    tokenized = tokenize_translation_dataset(dataset, tokenizer, SOURCE_LANG, TARGET_LANG, 48, 16)
    config = RNNSeq2SeqConfig.from_preset(
        "small", vocab_size=len(tokenizer), embedding_size=32, hidden_size=48, attention_hidden_size=24,
        dropout=0.0, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id,
    )
    model = RNNSeq2SeqForConditionalGeneration(config)
    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path), max_steps=30, per_device_train_batch_size=16, learning_rate=3e-3,
        logging_steps=5, report_to="none", save_strategy="no", predict_with_generate=True,
        generation_max_length=16, use_cpu=True, seed=0, dataloader_pin_memory=False,
    )
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=tokenized["train"],
                             eval_dataset=tokenized["validation"], processing_class=tokenizer,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model))
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    after = trainer.evaluate()
    assert len(losses) == 6
    assert losses[-1] < 0.75 * losses[0]
    assert after["eval_loss"] < 0.75 * before
    predictions = trainer.predict(tokenized["test"]).predictions
    assert predictions.shape[0] == 8  # generation inside evaluation runs through the model's generate()
