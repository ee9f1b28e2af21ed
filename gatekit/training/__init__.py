"""Training: optimizers and learning-rate schedules, exact to PyTorch's.

:mod:`~gatekit.training.settings` is what an optimizer or a schedule declares
about its settings (:class:`~gatekit.training.settings.Setting`);
:mod:`~gatekit.training.optimizers` holds the :class:`~gatekit.training.optimizers.Optimizer`
contract and the built-in optimizers, :mod:`~gatekit.training.schedules` the
:class:`~gatekit.training.schedules.Schedule` contract, the built-in schedules
and the warmup; :mod:`~gatekit.training.registry` collects both, built-in and
third-party alike, from the plugins that answer ``gatekit_register_optimizers``
and ``gatekit_register_schedules``.

Each built-in follows the arithmetic of PyTorch's single-tensor
implementation, in float64, so that a run agrees with PyTorch's to about
1e-12 (``tests/reference`` holds PyTorch's own numbers).
"""
