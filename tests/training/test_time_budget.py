"""TimeBudgetCallback on a replaced clock: when it stops (the next update plus the longest validation and save
would pass the budget), that it asks for the last state to be evaluated and saved, and, inside train.py, that the
run ends at that update with the best checkpoint chosen on validation."""

from types import SimpleNamespace

import pytest
from transformers import TrainerControl, TrainerState

from hf_attention_zoo.training import time_budget
from hf_attention_zoo.training.time_budget import TimeBudgetCallback
from tests.support.scripts import load_script


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(time_budget, "_clock", fake)
    return fake


def run_steps(callback, clock, steps, step_seconds, evaluate_every=None, evaluation_seconds=0.0):
    """Trainer's order of calls: the flow callback's on_step_end sets should_evaluate on scheduled steps, then ours
    runs; the evaluation follows."""
    args = SimpleNamespace(eval_strategy="steps", save_strategy="steps")
    state, control = TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control)
    for step in range(1, steps + 1):
        clock.now += step_seconds
        state.global_step = step
        control.should_evaluate = bool(evaluate_every) and step % evaluate_every == 0
        callback.on_step_end(args, state, control)
        if control.should_evaluate:
            clock.now += evaluation_seconds
            callback.on_evaluate(args, state, control)
        if control.should_training_stop:
            return control
    return control


def test_stops_when_one_more_update_would_pass_the_budget_and_asks_for_a_last_evaluation_and_save(clock):
    callback = TimeBudgetCallback(minutes=1)  # 60 s of 10 s updates: after update 5, a sixth would end at 60 s
    control = run_steps(callback, clock, steps=100, step_seconds=10.0)
    assert callback.stopped_at_step == 5
    assert control.should_training_stop and control.should_evaluate and control.should_save


def test_the_longest_validation_is_kept_free_at_the_end(clock):
    # updates of 10 s, a 25 s validation after every 2: after update 2 (20 s) + 25 s of validation, update 3 ends
    # at 55 s and 55 + 10 + 25 >= 60, so the budget stops there, leaving room for the final validation
    callback = TimeBudgetCallback(minutes=1)
    run_steps(callback, clock, steps=100, step_seconds=10.0, evaluate_every=2, evaluation_seconds=25.0)
    assert callback.stopped_at_step == 3 and callback.evaluation_seconds == 25.0


def test_a_scheduled_validation_becomes_the_last_one_when_going_on_would_need_another(clock):
    # updates of 10 s, a 5 s validation after every 5 updates, a 2-minute budget: update 5 ends at 50 s (validated:
    # 55 s); update 10 ends at 105 s and is validated anyway; going on would add an update and a final validation
    # (105 + 5 + 10 + 5 = 125 s > 120 s), so the budget stops at 10 and the scheduled validation is the final one,
    # ending at 110 s (not update 11 and a second validation of almost the same state at 130 s)
    callback = TimeBudgetCallback(minutes=2)
    control = run_steps(callback, clock, steps=100, step_seconds=10.0, evaluate_every=5, evaluation_seconds=5.0)
    assert callback.stopped_at_step == 10 and control.should_evaluate
    assert clock.now - 1000.0 == 110.0


def test_a_run_shorter_than_the_budget_is_not_stopped(clock):
    callback = TimeBudgetCallback(minutes=10)
    control = run_steps(callback, clock, steps=20, step_seconds=1.0)
    assert callback.stopped_at_step is None and not control.should_training_stop


@pytest.mark.parametrize("minutes", [0, -1, True, "30"])
def test_a_bad_budget_raises_a_clear_error(minutes):
    with pytest.raises(ValueError, match="positive number of minutes"):
        TimeBudgetCallback(minutes)


def test_train_script_stops_at_the_budget_and_keeps_the_best_validated_checkpoint(tmp_path, monkeypatch):
    # every reading of the clock advances it 1 s: updates look like 1 s each, and a 0.5-minute budget stops the
    # 200-update run long before its end
    fake = FakeClock()

    def ticking():
        fake.now += 1.0
        return fake.now

    monkeypatch.setattr(time_budget, "_clock", ticking)
    summary = load_script("train").main([
        "--output_dir", str(tmp_path), "--num_train", "400", "--num_validation", "16", "--num_test", "16",
        "--preset", "small", "--config_overrides", "hidden_size=16,embedding_size=16", "--max_steps", "200",
        "--per_device_train_batch_size", "8", "--eval_strategy", "steps", "--eval_steps", "4", "--save_strategy",
        "steps", "--save_steps", "4", "--max_train_minutes", "0.5", "--num_samples", "0", "--early_stopping_patience",
        "0",
    ])
    stopped = summary["steps"]
    assert 4 < stopped < 200
    evaluated = [entry["step"] for entry in summary["log_history"] if "eval_bleu" in entry]
    assert evaluated[-1] == stopped  # the state the budget stopped at was validated (and saved, for the best pick)
    card = (tmp_path / "README.md").read_text()
    assert "budget 0.5 min" in card and "highest validation BLEU" in card


def test_an_epoch_end_validation_becomes_the_last_one_too(clock):
    # eval_strategy="epoch": Trainer asks for the validation in on_epoch_end, after on_step_end. Updates of 10 s,
    # epochs of 5 updates, validations of 5 s, a 124 s budget. After update 10 (105 s) one more update and a final
    # validation would fit (120 s), so on_step_end goes on; but update 10 ends an epoch and is validated anyway, and
    # going on past that validation would end at 125 s: on_epoch_end stops there
    args = SimpleNamespace(eval_strategy="epoch", save_strategy="epoch")
    callback = TimeBudgetCallback(minutes=124 / 60)
    state, control = TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control)
    for step in range(1, 100):
        clock.now += 10.0
        state.global_step = step
        control.should_evaluate = False
        callback.on_step_end(args, state, control)
        assert not control.should_training_stop  # never on_step_end here
        if step % 5 == 0:
            control.should_evaluate = True  # the flow callback's on_epoch_end
            callback.on_epoch_end(args, state, control)
            clock.now += 5.0
            callback.on_evaluate(args, state, control)
        if control.should_training_stop:
            break
    assert callback.stopped_at_step == 10 and control.should_save and clock.now - 1000.0 == 110.0
