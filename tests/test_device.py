from __future__ import annotations

import pytest
import torch

from lrlib.device import DEVICE_ENV, REQUIRE_CUDA_ENV, get_device


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.delenv(REQUIRE_CUDA_ENV, raising=False)


def fake_hardware(
    monkeypatch: pytest.MonkeyPatch, *, cuda: bool, mps: bool, count: int = 1
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_automatic_choice_prefers_cuda_then_mps(monkeypatch, cuda, mps, expected):
    fake_hardware(monkeypatch, cuda=cuda, mps=mps)
    assert get_device().type == expected


def test_environment_variable_overrides_automatic_choice(monkeypatch):
    fake_hardware(monkeypatch, cuda=True, mps=False)
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert get_device() == torch.device("cpu")


def test_argument_overrides_environment_variable(monkeypatch):
    fake_hardware(monkeypatch, cuda=True, mps=False)
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    assert get_device("cpu") == torch.device("cpu")


def test_invalid_device_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "gpu-please")
    with pytest.raises(ValueError, match=r"LRLIB_DEVICE.*'gpu-please'"):
        get_device()


def test_unavailable_cuda_request_is_an_error(monkeypatch):
    fake_hardware(monkeypatch, cuda=False, mps=False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_cuda_index_beyond_device_count_is_an_error(monkeypatch):
    fake_hardware(monkeypatch, cuda=True, mps=False, count=1)
    with pytest.raises(RuntimeError, match=r"only 1 CUDA device"):
        get_device("cuda:3")


def test_unavailable_mps_request_is_an_error(monkeypatch):
    fake_hardware(monkeypatch, cuda=False, mps=False)
    with pytest.raises(RuntimeError, match="MPS is not available"):
        get_device("mps")


def test_required_cuda_missing_raises_instead_of_falling_back(monkeypatch):
    fake_hardware(monkeypatch, cuda=False, mps=True)
    monkeypatch.setenv(REQUIRE_CUDA_ENV, "1")
    with pytest.raises(RuntimeError, match="LRLIB_REQUIRE_CUDA"):
        get_device()


def test_required_cuda_rejects_explicit_cpu(monkeypatch):
    fake_hardware(monkeypatch, cuda=True, mps=False)
    monkeypatch.setenv(REQUIRE_CUDA_ENV, "true")
    with pytest.raises(RuntimeError, match="'cpu'"):
        get_device("cpu")


def test_required_cuda_satisfied(monkeypatch):
    fake_hardware(monkeypatch, cuda=True, mps=True)
    monkeypatch.setenv(REQUIRE_CUDA_ENV, "yes")
    assert get_device().type == "cuda"


def test_unrecognised_flag_value_is_an_error(monkeypatch):
    monkeypatch.setenv(REQUIRE_CUDA_ENV, "maybe")
    with pytest.raises(ValueError, match="LRLIB_REQUIRE_CUDA.*'maybe'"):
        get_device()


@pytest.mark.gpu
def test_tensors_land_on_the_chosen_device():
    """On CPU machines this checks the CPU;
    the GPU workflow runs it with CUDA required.
    """
    device = get_device()
    x = torch.ones(8, 8, device=device)
    y = (x @ x).sum()
    assert y.device.type == device.type
    assert y.item() == 8 * 8 * 8
