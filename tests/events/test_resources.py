"""``volnux.Resources``: what an event declares it needs, checked when declared."""

from __future__ import annotations

import re

import pytest

import volnux
from volnux import EventDefinitionError, Resources


def test_gpu_choices_and_counts_fill_each_other_in() -> None:
    assert Resources(gpus=1).gpu == "require"
    assert Resources(gpu="prefer").gpus == 1
    assert Resources(gpus=0.5, gpu="prefer").gpus == 0.5
    assert not Resources(memory_mb=64).wants_gpu and Resources(gpus=2).wants_gpu


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory_mb": 0}, "memory_mb must be a positive whole number of MiB, got 0"),
        ({"memory_mb": 1.5}, "memory_mb must be a positive whole number of MiB, got 1.5"),
        ({"gpus": 1.5}, "gpus must be whole devices (1, 2, ...) or a share of one below 1"),
        ({"gpus": -1}, "gpus must be whole devices"),
        ({"gpus": True}, "gpus must be a number of devices, got True"),
        ({"gpu": "always"}, "gpu must be 'require' or 'prefer', got 'always'"),
        ({"gpu_memory_mb": 100}, "gpu_memory_mb needs gpus (or gpu=) beside it"),
        ({"gpus": 1, "gpu_wait_s": -1}, "gpu_wait_s cannot be negative"),
    ],
)
def test_what_cannot_be_met_is_refused_when_declared(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Resources(**kwargs)  # type: ignore[arg-type]


def test_functions_and_classes_declare_resources() -> None:
    @volnux.event(resources=Resources(memory_mb=256))
    def Crunch() -> None: ...

    class Render(volnux.Event):
        resources = Resources(gpus=1, gpu="prefer", gpu_memory_mb=4096)

        def process(self) -> None: ...

    assert volnux.events.spec_of(Crunch).resources.memory_mb == 256  # type: ignore[union-attr]
    spec = volnux.events.spec_of(Render)
    assert spec is not None and spec.resources.gpu == "prefer"
    with pytest.raises(EventDefinitionError, match=r"resources must be a volnux\.Resources"):

        @volnux.event(resources={"gpus": 1})  # type: ignore[arg-type]
        def Wrong() -> None: ...
