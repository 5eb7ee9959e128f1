"""Train for a wall-time budget, validation included: `TimeBudgetCallback` stops `Trainer` when the next update and
the validation that must follow it would run past the budget, and has that last state evaluated and saved so the
best checkpoint is chosen on validation as usual."""

import time

from transformers import TrainerCallback


def _clock() -> float:
    """Seconds of a monotonic clock (a function of its own so that tests can replace it)."""
    return time.monotonic()


class TimeBudgetCallback(TrainerCallback):
    """Stop training before `minutes` of wall time (counted from the start of `Trainer.train`) run out.

    After each update it predicts when a final validation would end if training went on: now, plus one more update
    (a running mean of the updates so far), plus the longest validation and the longest checkpoint save so far (both
    happen after `on_step_end` of the update that triggers them, and are not counted as update time); plus one more
    validation and save where this update is validated anyway by the evaluation schedule. When that passes
    the budget it stops and asks for an evaluation and a checkpoint of the current state (`should_evaluate`,
    `should_save`), so the last stretch of training is not lost and `load_best_model_at_end` still picks the best
    checkpoint on validation. Before the first validation its length is unknown and counted as 0.

    Attributes:
        stopped_at_step: the update at which the budget stopped training (None when training ended first).
        evaluation_seconds, save_seconds: the longest validation and checkpoint save seen.
    """

    def __init__(self, minutes: float):
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise ValueError(f"The time budget must be a positive number of minutes, got {minutes!r}.")
        self.budget = 60.0 * minutes
        self.started = self.step_ended = None
        self.step_seconds = self.evaluation_seconds = self.save_seconds = 0.0
        self.stopped_at_step = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = self.step_ended = _clock()
        self.step_seconds = self.evaluation_seconds = self.save_seconds = 0.0
        self.stopped_at_step = None

    def on_step_end(self, args, state, control, **kwargs):
        now = _clock()
        seconds, self.step_ended = now - self.step_ended, now
        # an exponential mean over about the last 20 updates
        self.step_seconds = seconds if self.step_seconds == 0.0 else 0.95 * self.step_seconds + 0.05 * seconds
        self._stop_if_going_on_passes_the_budget(now, args, state, control)
        return control

    def _stop_if_going_on_passes_the_budget(self, now, args, state, control) -> None:
        final = self.evaluation_seconds + self.save_seconds  # a validation and a checkpoint of the last state
        # Where this update is validated anyway (Trainer's flow callback asked first), going on costs that validation,
        # one more update and another final validation; stopping here makes the scheduled one the last.
        going_on = (final if control.should_evaluate else 0.0) + self.step_seconds + final
        if now - self.started + going_on >= self.budget:
            self.stopped_at_step = state.global_step
            control.should_training_stop = True
            control.should_evaluate = args.eval_strategy != "no"
            control.should_save = args.save_strategy != "no"

    def on_epoch_end(self, args, state, control, **kwargs):
        # With eval_strategy="epoch" the validation of an epoch's last update is asked for here, after on_step_end:
        # the same rule, so that it becomes the last one rather than validating one more update after it.
        if control.should_evaluate and self.started is not None and self.stopped_at_step is None:
            self._stop_if_going_on_passes_the_budget(_clock(), args, state, control)
        return control

    def on_evaluate(self, args, state, control, **kwargs):
        now = _clock()  # the next update's time starts after the evaluation
        self.evaluation_seconds, self.step_ended = max(self.evaluation_seconds, now - self.step_ended), now

    def on_save(self, args, state, control, **kwargs):
        now = _clock()
        self.save_seconds, self.step_ended = max(self.save_seconds, now - self.step_ended), now


__all__ = ["TimeBudgetCallback"]
