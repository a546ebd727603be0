"""The shared training loop: schedule floors, exact resume, per-step seeding, refused states."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn

from larc_core.engine import loop


def test_config_hash_is_stable_and_takes_parts():
    a = loop.config_hash({"b": 1, "a": [1, 2]}, {"seed": 0})
    assert a == loop.config_hash({"a": [1, 2], "b": 1}, {"seed": 0})  # key order is irrelevant
    assert len(a) == 64
    assert a != loop.config_hash({"b": 1, "a": [1, 2]}, {"seed": 1})
    assert loop.config_hash({"x": 1}) != loop.config_hash({"x": 1}, {})


@pytest.mark.parametrize("floor", [0.1, 0.0])
def test_schedule_warms_up_then_decays_to_its_floor(floor):
    f = [loop.warmup_cosine(s, 20, 4, floor) for s in range(22)]
    assert [round(v, 3) for v in f[:4]] == [0.25, 0.5, 0.75, 1.0]
    assert f[4] == pytest.approx(1.0)
    assert all(f[s] >= f[s + 1] for s in range(4, 21))
    assert f[20] == pytest.approx(floor, abs=1e-12) and f[21] == f[20]  # held after the end
    # cosine half-way between warm-up end and the last step
    assert f[12] == pytest.approx(floor + (1 - floor) * 0.5)
    assert loop.warmup_cosine(0, 10, 0, floor) == 1.0  # no warm-up: starts at the peak


def test_policies_decay_to_a_tenth_and_the_world_model_to_zero(tmp_path):
    assert loop.warmup_cosine(100, 100, 10) == pytest.approx(0.1)  # the default: policies
    assert loop.warmup_cosine(100, 100, 10, 0.0) == 0.0  # the world model
    lr = 1e-2
    for floor in (0.0, 0.1):
        rows, _ = _weights_after(tmp_path, f"f{floor}.pt", steps=40, lr_floor=floor)
        lrs = [r["lr"] for r in rows]
        assert lrs[:2] == [lr * 0.5, lr]  # two warm-up steps
        assert lrs == [lr * loop.warmup_cosine(s, 40, 2, floor) for s in range(40)]
        assert lrs[-1] == pytest.approx(lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(
            math.pi * 37 / 38))))


class _Net(nn.Module):
    """Tiny model with dropout, so the RNG state matters across a resume."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _loss_fn(model: nn.Module):
    def fn(step: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(step)
        x = torch.randn(8, 4, generator=g)
        mse = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        return {"mse": mse, "total": mse}

    return fn


def _weights_after(tmp_path, name, **kw):
    torch.manual_seed(0)
    model = _Net()
    rows = loop.run_training(
        model, _loss_fn(model),
        **{**dict(steps=10, lr=1e-2, weight_decay=0.01, warmup_steps=2, grad_clip=1.0,
                  state_path=tmp_path / name, run_hash="h", checkpoint_every=3, desc="t",
                  progress=False), **kw})
    return rows, model.state_dict()


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("step_seed", [None, lambda s: 1000 + s], ids=["rng-state", "step-seed"])
def test_stop_then_resume_equals_uninterrupted(tmp_path, step_seed):
    ref_rows, ref = _weights_after(tmp_path, "ref.pt", step_seed=step_seed)
    # periodic saves at 3, 6, 9; none at the end (save_final_state is off)
    assert torch.load(tmp_path / "ref.pt", weights_only=True)["step"] == 9
    rows, _ = _weights_after(tmp_path, "run.pt", step_seed=step_seed, stop_after_step=5)
    assert len(rows) == 5
    state = torch.load(tmp_path / "run.pt", weights_only=True)
    assert state["format"] == loop.STATE_FORMAT and state["step"] == 5
    assert "torch" in state["rng"] and ("cuda" in state["rng"]) == torch.cuda.is_available()
    rows, got = _weights_after(tmp_path, "run.pt", step_seed=step_seed)
    assert rows == ref_rows and _same(ref, got)


def test_save_final_state_and_resume_from_the_end(tmp_path):
    rows, ref = _weights_after(tmp_path, "fin.pt", save_final_state=True)
    assert torch.load(tmp_path / "fin.pt", weights_only=True)["step"] == 10
    starts = []
    rows2, got = _weights_after(tmp_path, "fin.pt", save_final_state=True,
                                on_start=starts.append)
    assert starts == [10] and rows2 == rows and _same(ref, got)


def test_record_hook_and_grad_norm(tmp_path):
    seen: list[loop.StepResult] = []

    def record(r: loop.StepResult) -> dict:
        seen.append(r)
        return {"step": r.step + 1, "grad_norm": float(r.grad_norm), **r.losses}

    rows, _ = _weights_after(tmp_path, "r.pt", record=record)
    assert [r["step"] for r in rows] == list(range(1, 11))
    assert all(s.seconds >= 0 and math.isfinite(r["grad_norm"])
               for s, r in zip(seen, rows, strict=True))
    assert set(rows[0]) == {"step", "grad_norm", "mse", "total"}
    seen.clear()
    _weights_after(tmp_path, "r2.pt", grad_clip=0.0, record=lambda r: seen.append(r) or {})
    assert len(seen) == 10 and all(r.grad_norm is None for r in seen)  # no clip, no norm


@pytest.mark.parametrize("old", ids=["old-policy", "old-world-model", "foreign"], argvalues=[
    # what the policies' loop wrote before the loops were merged
    lambda sd: {"run_hash": "h", "model": sd, "optimizer": {}, "scheduler": {}, "step": 4,
                "history": [], "torch_rng": torch.get_rng_state()},
    # what the world model's own loop wrote
    lambda sd: {"format": "larc-world-model-train-state", "config_hash": "h", "step": 4,
                "model": sd, "optimizer": {}, "scheduler": {}, "rng": {}, "log_rows": []},
    lambda sd: [1, 2, 3],
])
def test_old_or_foreign_state_is_refused_with_a_warning(tmp_path, caplog, old):
    _, ref = _weights_after(tmp_path, "fresh.pt")
    torch.save(old(_Net().state_dict()), tmp_path / "old.pt")
    with caplog.at_level(logging.WARNING):
        rows, got = _weights_after(tmp_path, "old.pt")
    assert "starting fresh" in caplog.text and len(rows) == 10 and _same(ref, got)


def test_truncated_or_other_run_state_is_refused(tmp_path, caplog):
    _, ref = _weights_after(tmp_path, "fresh.pt")
    _weights_after(tmp_path, "other.pt", run_hash="another", stop_after_step=4)
    (tmp_path / "cut.pt").write_bytes((tmp_path / "other.pt").read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        _, got = _weights_after(tmp_path, "other.pt")
        assert "different config" in caplog.text and _same(ref, got)
        _, got = _weights_after(tmp_path, "cut.pt")
        assert "unreadable" in caplog.text and _same(ref, got)


def test_validation_is_logged_and_leaves_training_unchanged(tmp_path):
    """Held-out losses every val_every steps and after the last one, in eval mode, on a forked
    RNG: the model (with dropout, no step seed) trains to the same weights with or without."""
    _, ref = _weights_after(tmp_path, "ref.pt")
    modes = []

    def validate():
        modes.append(model_ref[0].training)
        torch.randn(100)  # a validation that draws numbers must not shift training's draws
        return {"mse": 1.5}

    torch.manual_seed(0)
    model = _Net()
    model_ref = [model]
    rows = loop.run_training(
        model, _loss_fn(model), steps=10, lr=1e-2, weight_decay=0.01, warmup_steps=2,
        grad_clip=1.0, state_path=tmp_path / "val.pt", run_hash="h", checkpoint_every=3,
        desc="t", progress=False, validate=validate, val_every=4)
    assert [r["step"] for r in rows if "val_mse" in r] == [3, 7, 9]  # after steps 4, 8, 10
    assert all(r["val_mse"] == 1.5 for r in rows if "val_mse" in r)
    assert modes == [False, False, False]  # eval mode while validating
    assert _same(ref, model.state_dict())
