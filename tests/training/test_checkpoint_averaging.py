"""Checkpoint averaging (Vaswani et al. §6.1): the averaged folder holds the element-wise mean of every stored tensor,
loads and generates like a model given that mean by hand, keeps tied weights tied and stored once, and carries the
run's tokenizer; the callback leaves a Trainer's model equal to the mean of its last checkpoints; bad inputs fail
clearly; scripts/average_checkpoints.py does the same from the command line."""

import json
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import AutoModelForSeq2SeqLM, Seq2SeqTrainer, Seq2SeqTrainingArguments, default_data_collator

from support import rnn_fixtures, transformer_fixtures
from support.scripts import load_script
from hf_attention_zoo.data.subword_tokenizer import (
    TARGET_TOKENIZER_SUBFOLDER,
    load_tokenizers,
    save_tokenizers,
    train_tokenizer,
)
from hf_attention_zoo.data.synthetic_dates import SOURCE_LANG, TARGET_LANG, make_dates_dataset
from hf_attention_zoo.data.translation_task import TASK_FILE
from hf_attention_zoo.training.checkpoint_averaging import (
    RECORD_FILE,
    AverageCheckpointsCallback,
    average_checkpoints,
    find_checkpoints_around_best,
    find_last_checkpoints,
    load_weights_in_place,
    mean_checkpoint_weights,
)

FIXTURES = {"rnn": rnn_fixtures, "transformer": transformer_fixtures}
SEEDS = (0, 1, 2)


def source_batch(family: str) -> tuple[torch.Tensor, torch.Tensor]:
    return rnn_fixtures.padded_batch() if family == "rnn" else transformer_fixtures.source_batch()


def save_models(folder: Path, family: str, seeds=SEEDS, **overrides) -> list[Path]:
    """Tiny models of different seeds saved as checkpoint-<seed + 1> folders of the run `folder`."""
    folders = []
    for seed in seeds:
        folders.append(folder / f"checkpoint-{seed + 1}")
        FIXTURES[family].tiny_model(seed=seed, **overrides).save_pretrained(folders[-1])
    return folders


def expected_mean(folders: list[Path]) -> dict[str, torch.Tensor]:
    """The definition: per stored tensor, the float64 mean cast back to the tensor's dtype."""
    files = [load_file(folder / "model.safetensors") for folder in folders]
    return {name: (sum(file[name].double() for file in files) / len(files)).to(tensor.dtype)
            for name, tensor in files[0].items()}


@pytest.fixture(scope="module")
def tokenizers():
    dataset = make_dates_dataset(num_train=40, num_validation=4, num_test=4, seed=0)
    return (train_tokenizer(dataset, [SOURCE_LANG, TARGET_LANG], model="char"),
            train_tokenizer(dataset, SOURCE_LANG, model="char"), train_tokenizer(dataset, TARGET_LANG, model="char"))


@pytest.mark.parametrize("family", sorted(FIXTURES))
def test_averaged_checkpoint_is_the_elementwise_mean_of_every_tensor(family, tmp_path):
    folders = save_models(tmp_path / "run", family)
    output = average_checkpoints(folders, tmp_path / "average")

    averaged, expected = load_file(output / "model.safetensors"), expected_mean(folders)
    assert sorted(averaged) == sorted(expected)
    for name, tensor in expected.items():
        assert averaged[name].dtype == tensor.dtype
        assert torch.equal(averaged[name], tensor), name
    # the mean is not one of its inputs
    assert not torch.equal(averaged[name], load_file(folders[0] / "model.safetensors")[name])


@pytest.mark.parametrize("family", sorted(FIXTURES))
def test_averaged_folder_loads_and_generates_like_a_model_given_the_mean_by_hand(family, tmp_path):
    folders = save_models(tmp_path / "run", family)
    output = average_checkpoints(folders, tmp_path / "average")

    # the fixtures' Transformer attends eagerly; from_pretrained would pick sdpa, equal only to rounding
    attention = {"attn_implementation": "eager"} if family == "transformer" else {}
    loaded = AutoModelForSeq2SeqLM.from_pretrained(output, **attention).eval()
    by_hand = FIXTURES[family].tiny_model(seed=7)
    by_hand.load_state_dict(expected_mean(folders), strict=False)
    input_ids, attention_mask = source_batch(family)
    with torch.no_grad():
        sequences = loaded.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6)
        assert torch.equal(sequences, by_hand.generate(input_ids=input_ids, attention_mask=attention_mask,
                                                       max_new_tokens=6))
        assert torch.equal(loaded(input_ids, attention_mask, decoder_input_ids=sequences).logits,
                           by_hand(input_ids, attention_mask, decoder_input_ids=sequences).logits)
    assert type(loaded) is type(by_hand)
    # a normal model folder: weights, configs and the model code for trust_remote_code loading; no model card
    names = {path.name for path in output.iterdir()}
    modeling = {"rnn": "modeling_rnn_seq2seq.py", "transformer": "modeling_transformer.py"}[family]
    assert {"model.safetensors", "config.json", "generation_config.json", modeling, RECORD_FILE} <= names
    assert "README.md" not in names and "trainer_state.json" not in names


def test_tied_transformer_embeddings_stay_tied_and_are_stored_once(tmp_path):
    folders = save_models(tmp_path / "run", "transformer")  # shared embeddings tied to the output projection
    output = average_checkpoints(folders, tmp_path / "average")

    model = AutoModelForSeq2SeqLM.from_pretrained(output)
    assert model.config.tie_word_embeddings and model.config.share_encoder_decoder_embeddings
    embedding = model.get_input_embeddings().weight
    assert model.lm_head.weight.data_ptr() == embedding.data_ptr()
    assert model.model.decoder.embed_tokens.weight.data_ptr() == embedding.data_ptr()

    tied = [name for name, tensor in model.state_dict().items() if tensor.data_ptr() == embedding.data_ptr()]
    assert len(tied) == 4  # shared, encoder and decoder embeddings, output projection
    for folder in [*folders, output]:
        stored = [name for name in load_file(folder / "model.safetensors") if name in tied]
        assert len(stored) == 1, (folder, stored)
    assert torch.equal(embedding, expected_mean(folders)[stored[0]])


def test_find_last_checkpoints_orders_by_step_and_skips_folders_without_weights(tmp_path):
    for step in (8, 9, 10, 11, 100):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if step != 11:  # checkpoint-11 is still being written
            (tmp_path / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"")
    (tmp_path / "checkpoint-best").mkdir()
    (tmp_path / "runs").mkdir()

    assert find_last_checkpoints(tmp_path, 2) == [tmp_path / "checkpoint-10", tmp_path / "checkpoint-100"]
    assert find_last_checkpoints(tmp_path, 3, max_step=99) == [tmp_path / f"checkpoint-{s}" for s in (8, 9, 10)]
    with pytest.raises(FileNotFoundError, match=r"holds 4 checkpoint-<step> folder\(s\).*checkpoint-9.*5 were asked"):
        find_last_checkpoints(tmp_path, 5)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        find_last_checkpoints(tmp_path / "missing", 2)


def test_find_checkpoints_around_best_centres_the_window_on_the_best_and_slides_it_inward_at_the_ends(tmp_path, caplog):
    steps = range(100, 1000, 100)
    for step in steps:
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"")
    state = tmp_path / "checkpoint-900" / "trainer_state.json"

    def around(best, k):
        # the path as Trainer wrote it when the run lived elsewhere: matched by the folder's name
        state.write_text(json.dumps({"best_model_checkpoint": best and f"/elsewhere/run/{best}"}))
        return [int(path.name.split("-")[1]) for path in find_checkpoints_around_best(tmp_path, k)]

    assert around("checkpoint-500", 5) == [300, 400, 500, 600, 700]
    assert around("checkpoint-500", 4) == [400, 500, 600, 700]  # (k - 1) // 2 before the best, the rest after
    assert around("checkpoint-200", 5) == [100, 200, 300, 400, 500]  # at the start the window slides inward
    assert around("checkpoint-900", 5) == [500, 600, 700, 800, 900]  # and at the end
    assert around("checkpoint-900", 9) == list(steps)
    with pytest.raises(ValueError, match="records no best checkpoint"):
        around(None, 3)
    with pytest.raises(ValueError, match=r"checkpoint-50, is not among .* --save_total_limit 0"):
        around("checkpoint-50", 3)
    with pytest.raises(FileNotFoundError, match="10 were asked for"):
        around("checkpoint-500", 10)
    # Trainer's rotation deleted checkpoints between the best and the last ones: averaged anyway, but not silently
    for step in (300, 400, 600, 700):
        (tmp_path / f"checkpoint-{step}" / "model.safetensors").unlink()
    with caplog.at_level("WARNING", logger="hf_attention_zoo.training.checkpoint_averaging"):
        assert around("checkpoint-500", 3) == [200, 500, 800]
    assert "not 100 updates apart" in caplog.text and "--save_total_limit 0" in caplog.text
    state.unlink()
    with pytest.raises(FileNotFoundError, match="trainer_state.json is missing"):
        find_checkpoints_around_best(tmp_path, 3)


@pytest.mark.parametrize("steps, save_steps, best, deleted", [
    # saved every 450 updates, stopped by a time budget at 9,649, resumed, and ended at 13,620 (off the interval): the
    # off-interval checkpoints add to the window and are no sign of deletion
    ((8550, 9000, 9450, 9649, 9900, 10350, 10800, 13500, 13620), 450, 9649, None),
    # the same run after rotation deleted checkpoint-9450
    ((8550, 9000, 9649, 9900, 10350, 10800, 13500, 13620), 450, 9649, 9450),
    # saved every epoch (454 updates): Trainer still records save_steps (500 by default), which no checkpoint lies on
    ((454, 908, 1362, 1816, 2270, 2724), 500, 1362, None),
])
def test_around_best_warns_of_deleted_checkpoints_from_the_recorded_save_interval(tmp_path, caplog, steps, save_steps,
                                                                                   best, deleted):
    for step in steps:
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"")
    (tmp_path / f"checkpoint-{steps[-1]}" / "trainer_state.json").write_text(
        json.dumps({"best_model_checkpoint": f"/elsewhere/checkpoint-{best}", "save_steps": save_steps}))
    with caplog.at_level("WARNING", logger="hf_attention_zoo.training.checkpoint_averaging"):
        window = find_checkpoints_around_best(tmp_path, 5)
    assert tmp_path / f"checkpoint-{best}" == window[2]
    if deleted is None:
        assert "deleted" not in caplog.text
    else:
        assert f"not {save_steps} updates apart" in caplog.text and f"checkpoint-{deleted}" in caplog.text


def test_mismatched_checkpoints_fail_clearly(tmp_path):
    rnn = save_models(tmp_path / "rnn", "rnn", seeds=(0, 1))
    transformer = save_models(tmp_path / "transformer", "transformer", seeds=(0,))
    with pytest.raises(ValueError, match=r"holds a 'zoo_transformer' model.*'zoo_rnn_seq2seq'.*one model family"):
        mean_checkpoint_weights([rnn[0], transformer[0]])

    bigger = save_models(tmp_path / "bigger", "rnn", seeds=(0,), vocab_size=98)
    with pytest.raises(ValueError, match=r"has shape \(98, \d+\) in .*bigger.* but \(99, \d+\) in .*different sizes"):
        mean_checkpoint_weights([rnn[0], bigger[0]])

    no_attention = save_models(tmp_path / "dot", "rnn", seeds=(0,), attention_type="dot")
    with pytest.raises(ValueError, match="hold different tensors .*attention.*different architectures"):
        mean_checkpoint_weights([rnn[0], no_attention[0]])

    model = rnn_fixtures.tiny_model(seed=0)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"do not fit RNNSeq2SeqForConditionalGeneration: names it does not have"):
        load_weights_in_place(model, mean_checkpoint_weights(save_models(tmp_path / "t", "transformer", seeds=(1, 2))))
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())  # left as it was

    (tmp_path / "no_weights").mkdir()
    (tmp_path / "no_weights" / "config.json").write_text((rnn[0] / "config.json").read_text())
    with pytest.raises(ValueError, match=r"no_weights has no model.safetensors.*re-save the model"):
        average_checkpoints([rnn[0], tmp_path / "no_weights"], tmp_path / "out")
    with pytest.raises(ValueError, match="at least 2 checkpoints"):
        average_checkpoints(rnn[:1], tmp_path / "out")
    with pytest.raises(ValueError, match="is listed twice"):
        average_checkpoints([rnn[0], rnn[0]], tmp_path / "out")
    with pytest.raises(ValueError, match="exists and is not an empty folder"):
        average_checkpoints(rnn, tmp_path / "rnn")
    with pytest.raises(ValueError, match="at least 2 checkpoints"):
        AverageCheckpointsCallback(1)


def test_tokenizer_and_task_come_from_the_run_folder_around_trainer_checkpoints(tmp_path, tokenizers, caplog):
    _, source_tokenizer, target_tokenizer = tokenizers
    run = tmp_path / "run"
    folders = save_models(run, "rnn", seeds=(0, 1))
    save_tokenizers(run, source_tokenizer, target_tokenizer)  # separate vocabularies, as scripts/train.py saves them
    (run / TASK_FILE).write_text('{"dataset": "dates"}\n')
    (run / "README.md").write_text("the card of another model\n")
    source_tokenizer.save_pretrained(folders[0])  # what Trainer saves in a checkpoint: the source side only

    output = average_checkpoints(folders, tmp_path / "average")
    loaded_source, loaded_target = load_tokenizers(output)
    assert loaded_source.get_vocab() == source_tokenizer.get_vocab()
    assert loaded_target.get_vocab() == target_tokenizer.get_vocab() != source_tokenizer.get_vocab()
    assert (output / TASK_FILE).read_text() == '{"dataset": "dates"}\n'
    assert not (output / "README.md").exists()
    record = json.loads((output / RECORD_FILE).read_text())
    assert record == {"averaged_checkpoints": [str(folder) for folder in folders], "tokenizer_from": str(run),
                      "copied_files": [str(run / TASK_FILE)]}

    # no tokenizer anywhere: none is saved, and the warning and the record say so
    bare = save_models(tmp_path / "bare", "rnn", seeds=(0, 1))
    with caplog.at_level("WARNING"):
        output = average_checkpoints(bare, tmp_path / "bare-average")
    assert "No tokenizer in" in caplog.text and not (output / "tokenizer_config.json").exists()
    assert not (output / TARGET_TOKENIZER_SUBFOLDER).exists()
    assert json.loads((output / RECORD_FILE).read_text())["tokenizer_from"] is None


def test_checkpoints_with_different_tokenizers_are_refused(tmp_path, tokenizers):
    _, source_tokenizer, target_tokenizer = tokenizers
    folders = save_models(tmp_path / "run", "rnn", seeds=(0, 1))
    source_tokenizer.save_pretrained(folders[0])
    target_tokenizer.save_pretrained(folders[1])
    with pytest.raises(ValueError, match="hold different tokenizers"):
        average_checkpoints(folders, tmp_path / "average")


def tiny_trainer(output_dir: Path, callback: AverageCheckpointsCallback, **overrides) -> Seq2SeqTrainer:
    """6 updates of a tiny tied Transformer on random pairs of fixed length, a checkpoint every 2."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 99, (24, 2, 6), generator=generator)
    dataset = Dataset.from_dict({"input_ids": ids[:, 0].tolist(), "attention_mask": torch.ones(24, 6).long().tolist(),
                                 "labels": ids[:, 1].tolist()})
    args = Seq2SeqTrainingArguments(**{
        "output_dir": str(output_dir), "max_steps": 6, "per_device_train_batch_size": 4, "learning_rate": 1e-2,
        "save_strategy": "steps", "save_steps": 2, "eval_strategy": "no", "report_to": "none", "use_cpu": True,
        "seed": 0, "dataloader_pin_memory": False, "disable_tqdm": True, **overrides,
    })
    return Seq2SeqTrainer(model=transformer_fixtures.tiny_model(seed=0).train(), args=args, train_dataset=dataset,
                          eval_dataset=dataset, data_collator=default_data_collator, callbacks=[callback])


def test_callback_leaves_the_trainer_model_equal_to_the_mean_of_the_last_checkpoints(tmp_path):
    callback = AverageCheckpointsCallback(last_k=2)
    trainer = tiny_trainer(tmp_path / "run", callback)
    trainer.train()

    last = [tmp_path / "run" / "checkpoint-4", tmp_path / "run" / "checkpoint-6"]
    assert (tmp_path / "run" / "checkpoint-2").is_dir()  # three were saved, the last two averaged
    assert callback.averaged_checkpoints == last
    expected = expected_mean(last)
    state = trainer.model.state_dict()
    for name, tensor in expected.items():
        assert torch.equal(state[name], tensor), name
    assert not torch.equal(state[name], load_file(last[-1] / "model.safetensors")[name])
    assert trainer.model.lm_head.weight.data_ptr() == trainer.model.get_input_embeddings().weight.data_ptr()

    trainer.save_model(str(tmp_path / "final"))
    saved = load_file(tmp_path / "final" / "model.safetensors")
    assert all(torch.equal(saved[name], tensor) for name, tensor in expected.items())


def test_callback_refuses_settings_that_would_lose_the_average_before_training(tmp_path):
    callback = AverageCheckpointsCallback(last_k=3)
    trainer = tiny_trainer(tmp_path / "run", callback, load_best_model_at_end=True, eval_strategy="steps",
                           eval_steps=2, metric_for_best_model="loss", save_total_limit=3)
    with pytest.raises(ValueError, match=r"load_best_model_at_end false.*--save_total_limit 4"):
        trainer.train()
    assert not (tmp_path / "run" / "checkpoint-2").exists()


def test_script_averages_listed_checkpoints_and_the_last_k_of_a_run(tmp_path, tokenizers, capsys):
    script = load_script("average_checkpoints")
    run = tmp_path / "run"
    folders = save_models(run, "transformer")
    save_tokenizers(run, tokenizers[0])

    output = script.main(["--checkpoints", *map(str, folders), "--output_dir", str(tmp_path / "all")])
    assert output == str(tmp_path / "all")
    averaged = load_file(Path(output) / "model.safetensors")
    assert all(torch.equal(averaged[name], tensor) for name, tensor in expected_mean(folders).items())
    printed = capsys.readouterr().out
    assert "the mean of 3 checkpoints" in printed and str(folders[2]) in printed and f"tokenizer from {run}" in printed

    output = script.main(["--last", "2", "--run_dir", str(run), "--output_dir", str(tmp_path / "last2")])
    assert json.loads((Path(output) / RECORD_FILE).read_text())["averaged_checkpoints"] == list(map(str, folders[1:]))
    averaged = load_file(Path(output) / "model.safetensors")
    assert all(torch.equal(averaged[name], tensor) for name, tensor in expected_mean(folders[1:]).items())

    (folders[2] / "trainer_state.json").write_text(json.dumps({"best_model_checkpoint": str(folders[0])}))
    output = script.main(["--around_best", "2", "--run_dir", str(run), "--output_dir", str(tmp_path / "best2")])
    assert json.loads((Path(output) / RECORD_FILE).read_text())["averaged_checkpoints"] == list(map(str, folders[:2]))

    with pytest.raises(ValueError, match="Pass one of --checkpoints"):
        script.main(["--output_dir", str(tmp_path / "neither")])
    with pytest.raises(ValueError, match="Pass one of --checkpoints"):
        script.main(["--last", "2", "--around_best", "2", "--run_dir", str(run), "--output_dir", str(tmp_path / "both")])
    with pytest.raises(ValueError, match="--last 2 needs --run_dir"):
        script.main(["--last", "2", "--output_dir", str(tmp_path / "no_run")])
    with pytest.raises(ValueError, match="--around_best 2 needs --run_dir"):
        script.main(["--around_best", "2", "--output_dir", str(tmp_path / "no_run")])


def test_train_script_average_last_k_turns_off_the_best_checkpoint_and_keeps_enough_checkpoints():
    parse_arguments = load_script("train").parse_arguments
    _, _, run_args, training_args = parse_arguments(["--average_last_k", "3"])
    assert run_args.average_last_k == 3 and not training_args.load_best_model_at_end
    assert training_args.save_total_limit == 4  # the last 3 and the best one, which Trainer keeps as well
    _, _, run_args, training_args = parse_arguments(["--average_last_k", "3", "--save_total_limit", "0"])
    assert training_args.save_total_limit == 0  # a flag given on the command line wins
    _, _, run_args, training_args = parse_arguments([])
    assert run_args.average_last_k == 0 and training_args.load_best_model_at_end and training_args.save_total_limit == 1


def test_the_runs_model_card_is_rerendered_for_the_average_without_the_old_results(tmp_path):
    from hf_attention_zoo.hub.model_card import save_model_card, update_model_card

    run = tmp_path / "run"
    folders = save_models(run, "rnn", seeds=(0, 1))
    config = AutoModelForSeq2SeqLM.from_pretrained(folders[0]).config
    save_model_card(run, config=config, repo_id=str(run), source_lang=SOURCE_LANG, target_lang=TARGET_LANG,
                    dataset_name="dates", training={"epochs": 2, "best checkpoint": "checkpoint-1"},
                    results={"test": {"sacrebleu": 12.3}})
    output = average_checkpoints(folders, tmp_path / "average")
    card = (output / "README.md").read_text()
    assert "12.3" not in card and "best checkpoint" not in card
    assert "mean of " + ", ".join(folder.name for folder in folders) in card
    # what scripts/evaluate_model.py does next works on the averaged folder
    update_model_card(output, results={"test": {"sacrebleu": 45.6}})
    assert "45.6" in (output / "README.md").read_text()
