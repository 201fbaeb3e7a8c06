"""A third-party Townlet training strategy that really learns, with townlet-core alone.

- ``my_algo`` (:class:`MyAlgo`, a training strategy): the cross-entropy
  method over a linear option policy on the encoder's scalar features;
- ``my_linear`` (:class:`MyLinearPolicy`, a policy): acts with the weights
  a ``my_algo`` run saved (``policy.params.weights: RUN_DIR/linear_policy.npz``).
"""

from townlet_example_strategy.policy import MyLinearParams, MyLinearPolicy
from townlet_example_strategy.strategy import POLICY_FILE, MyAlgo, MyAlgoParams

__all__ = ["POLICY_FILE", "MyAlgo", "MyAlgoParams", "MyLinearParams", "MyLinearPolicy"]
