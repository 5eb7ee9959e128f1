"""learning_rate_schedule: the §5.3 warm-up / inverse square root schedule as a LambdaLR."""

import pytest
import torch

from hf_attention_zoo.training.learning_rate_schedule import get_inverse_sqrt_schedule_with_warmup


def paper_rate(step: int, d_model: int = 512, warmup_steps: int = 4000) -> float:
    """§5.3 eq. 3, written out independently of the module."""
    return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def _rates_used_by_updates(last_update: int, **schedule_options) -> dict[int, float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = get_inverse_sqrt_schedule_with_warmup(optimizer, **schedule_options)
    rates = {}
    for update in range(1, last_update + 1):  # the paper counts updates from 1
        rates[update] = optimizer.param_groups[0]["lr"]  # the rate this update uses
        optimizer.step()
        scheduler.step()
    return rates


def test_the_kth_update_uses_the_paper_rate():
    rates = _rates_used_by_updates(10000, d_model=512, warmup_steps=4000)
    for step in (1, 100, 4000, 4001, 10000):
        assert rates[step] == pytest.approx(paper_rate(step), rel=1e-12)
    assert max(rates, key=rates.get) == 4000  # peak at the end of warm-up
    assert rates[4000] == pytest.approx(512**-0.5 * 4000**-0.5)


def test_scale_and_d_model_rescale_the_schedule():
    rates = _rates_used_by_updates(3, d_model=16, warmup_steps=2, scale=2.0)
    assert rates[1] == pytest.approx(2.0 * paper_rate(1, d_model=16, warmup_steps=2))
    assert rates[3] == pytest.approx(2.0 * paper_rate(3, d_model=16, warmup_steps=2))


def test_non_positive_arguments_are_rejected():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="warmup_steps=0"):
        get_inverse_sqrt_schedule_with_warmup(optimizer, d_model=512, warmup_steps=0)
