"""The learning-rate schedule of "Attention Is All You Need" §5.3: linear warm-up, then inverse square root decay.

Paper: Vaswani et al. 2017 (arXiv:1706.03762).
"""

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def inverse_sqrt_learning_rate(step: int, d_model: int, warmup_steps: int = 4000) -> float:
    """Eq. 3 of §5.3: lrate = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5), for update `step` >= 1."""
    return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def get_inverse_sqrt_schedule_with_warmup(
    optimizer: Optimizer, d_model: int, warmup_steps: int = 4000, scale: float = 1.0
) -> LambdaLR:
    """A `LambdaLR` that follows §5.3, for `Trainer(optimizers=(optimizer, scheduler))` or a plain loop.

    `LambdaLR` multiplies the optimizer's base learning rate by the factor, so create the optimizer with `lr=1.0`
    to get the paper's rates exactly (or another base lr to rescale them, as `scale` does). The paper pairs it with
    Adam(β1=0.9, β2=0.98, ε=1e-9) and warmup_steps=4000:

    ```python
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = get_inverse_sqrt_schedule_with_warmup(optimizer, d_model=model.config.d_model)
    ```

    `LambdaLR` counts from 0 before the first update while the paper counts updates from 1, so the factor at
    scheduler step s is the formula at step_num = s + 1: the k-th optimizer update uses lrate(k), never a zero
    learning rate. The peak, d_model^-0.5 · warmup_steps^-0.5, is reached at update `warmup_steps`.

    Args:
        optimizer: the optimizer whose learning rate is scheduled.
        d_model: the model width d_model (the schedule scales with d_model^-0.5).
        warmup_steps: updates of linear warm-up (§5.3 uses 4000).
        scale: a constant factor on the whole schedule (1.0 = the paper).

    Returns:
        The scheduler; call `scheduler.step()` after each `optimizer.step()` (the Trainer does).
    """
    if d_model <= 0 or warmup_steps <= 0 or scale <= 0:
        raise ValueError(
            f"d_model, warmup_steps and scale must be positive, got d_model={d_model}, warmup_steps={warmup_steps}, "
            f"scale={scale}."
        )

    def factor(scheduler_step: int) -> float:
        return scale * inverse_sqrt_learning_rate(scheduler_step + 1, d_model, warmup_steps)

    return LambdaLR(optimizer, factor)


__all__ = ["get_inverse_sqrt_schedule_with_warmup", "inverse_sqrt_learning_rate"]
