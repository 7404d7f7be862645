"""Device choice: explicit, recorded, and never a silent CPU run when CUDA was asked for."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.models import _device
from fusion.models._device import DeviceUnavailableError, open_session, providers_for


def test_cpu_session_runs_and_records_where():
    session = open_session(_device._PROBE_MODEL, "cpu")
    out = session.session.run(None, {"x": np.array([2.5], np.float32)})[0]
    assert out.tolist() == [2.5]
    assert session.device == "cpu"
    assert session.provenance()["providers"] == ["CPUExecutionProvider"]


def test_auto_uses_cuda_exactly_when_the_probe_succeeds():
    session = open_session(_device._PROBE_MODEL, "auto")
    assert session.device == ("cuda" if _device.cuda_available() else "cpu")


@pytest.mark.skipif(_device.cuda_available(), reason="a usable GPU is present")
def test_explicit_cuda_without_a_gpu_is_an_error_not_a_cpu_run():
    with pytest.raises(DeviceUnavailableError, match="--device cuda"):
        open_session(_device._PROBE_MODEL, "cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not _device.cuda_available(), reason="no usable GPU")
def test_explicit_cuda_runs_on_cuda():
    assert open_session(_device._PROBE_MODEL, "cuda").device == "cuda"


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be one of"):
        providers_for("tpu")
