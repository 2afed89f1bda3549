"""Reinforcement learning: discounted returns."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.metrics.computations.inputs import (
    InputError,
    finite_number,
    number_list,
    show_value,
)
from apps.metrics.computations.outputs import calculation


@calculation
def discounted_return(rewards: Any, gamma: Any) -> dict:
    """Discounted return G_t = r_t + gamma·G_{t+1} for every step t, and the undiscounted total."""
    values = number_list(rewards, "rewards").tolist()
    gamma = finite_number(gamma, "gamma")
    if not 0 <= gamma <= 1:
        raise InputError("gamma", f"{show_value(gamma)} is not allowed; gamma must be from 0 to 1")
    returns = [0.0] * len(values)
    following = 0.0
    for t in range(len(values) - 1, -1, -1):
        following = values[t] + gamma * following
        returns[t] = following
    return {"returns": returns, "total": np.sum(values), "gamma": gamma, "warnings": []}
