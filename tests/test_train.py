"""The training tool on slices of the real data: logs, plots, schedules, early stopping,
reproducibility, refused settings, and no partial files after an error."""

import csv
import json
import math

import numpy as np
import pytest
from conftest import one_line_exit

import kernels
from kernels import mlp
from kernels.app import train as tr
from kernels.app.train import COLUMNS, Settings
from kernels.cli import main


def run(tmp_path, name="run", **overrides):
    settings = dict(epochs=2, hidden=16, limit=1200, valid=200, batch_size=50)
    settings.update(overrides)
    out = tmp_path / name
    return tr.train(Settings(**settings), out), out


def rows(out):
    with open(out / "log.csv") as f:
        return list(csv.DictReader(f))


def test_outputs_of_a_run(tmp_path):
    summary, out = run(tmp_path, epochs=3)
    log = rows(out)
    assert list(log[0]) == list(COLUMNS)
    assert [int(r["epoch"]) for r in log] == [1, 2, 3]
    for r in log:
        for split in ("train", "valid", "test"):
            assert 0 <= float(r[f"{split}_error"]) <= 1
            assert 0 < float(r[f"{split}_loss"]) < 5
    assert float(log[-1]["train_loss"]) < float(log[0]["train_loss"])  # it learns
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "summary.json").read_text())
    assert saved["final"]["test_error"] == pytest.approx(float(log[-1]["test_error"]))
    with np.load(out / "model.npz") as m:
        assert m["W1"].shape == (16, 784) and m["W2"].shape == (10, 16)
    # the backend each kernel ran on, as kernels.fastest picked it (no backend was asked)
    assert saved["settings"]["backend"] is None
    assert saved["backends"] == {
        k: kernels.select.choose(k, size=50)[0] for k in ("mlp_epoch", "mlp_fprop")
    }


def test_printed_rows_fit_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    run(tmp_path, epochs=2)
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines() if str(tmp_path) not in line) <= 80
    assert "\u2026" not in printed


def test_learning_rate_schedule(tmp_path):
    _, out = run(tmp_path, epochs=5, lr=0.1, lr_step=2, lr_gamma=0.5)
    assert [float(r["lr"]) for r in rows(out)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    _, out = run(tmp_path, "constant", epochs=3, lr=0.1, lr_step=None)
    assert [float(r["lr"]) for r in rows(out)] == [0.1, 0.1, 0.1]


def test_same_seed_same_log(tmp_path):
    logs = []
    for name in ("a", "b"):
        _, out = run(tmp_path, name, shuffle=True, seed=3, epochs=2)
        logs.append([{k: v for k, v in r.items() if k != "seconds"} for r in rows(out)])
    assert logs[0] == logs[1]
    _, out = run(tmp_path, "c", shuffle=True, seed=4, epochs=2)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in rows(out)] != logs[0]


class RisingValidation:
    """A model whose validation loss falls for two epochs, then rises."""

    losses = {0: None}

    def __init__(self):
        self.epochs, self.w = 0, np.zeros(1)

    def epoch(self, X, y, lr, progress):
        self.epochs += 1
        self.w[0] = self.epochs  # "parameters" = the epoch count
        return 1.0

    def scores(self, X, y):
        loss = [1.0, 0.8, 0.6, 0.7, 0.9, 1.2, 1.5][self.epochs - 1] if len(y) == 3 else 0.5
        scores = np.zeros((len(y), 10))
        scores[np.arange(len(y)), y] = 1
        return scores, loss

    def state(self):
        return {"w": self.w.copy()}

    def load(self, state):
        self.w[...] = state["w"]


def test_early_stopping_keeps_the_best_parameters(tmp_path):
    data = (
        (np.zeros((4, 2)), np.arange(4)),
        (np.zeros((3, 2)), np.arange(3)),
        (np.zeros((5, 2)), np.arange(5)),
    )
    model = RisingValidation()
    summary = tr.fit(model, data, Settings(epochs=7, early_stopping=2), tmp_path)
    assert summary["epochs_run"] == 5  # best at 3, then 4 and 5 are worse
    assert summary["best_epoch"] == 3 and summary["stopped_early"]
    assert model.w[0] == 3  # the best epoch's parameters
    assert len(rows(tmp_path)) == 5


def test_softmax_regression_on_gradient_norm_features(tmp_path):
    summary, out = run(tmp_path, model="softmax-regression", features="gradient-norm", epochs=2)
    assert summary["final"]["test_error"] < 0.5  # far better than chance (0.9)
    with np.load(out / "model.npz") as m:
        assert m["W"].shape == (10, 784)


def test_the_backend_changes_the_speed_not_the_model(tmp_path):
    """The same run with plain Python's kernels learns what numpy's learn."""
    small = dict(epochs=1, hidden=4, limit=150, valid=50)
    (fast, a), (slow, b) = (
        run(tmp_path, name, backend=name, **small) for name in ("numpy", "python")
    )
    assert (fast["settings"]["backend"], slow["settings"]["backend"]) == ("numpy", "python")
    for column in ("train_loss", "valid_loss", "test_error"):
        assert slow["final"][column] == pytest.approx(fast["final"][column], rel=1e-9), column
    with np.load(a / "model.npz") as m, np.load(b / "model.npz") as n:
        np.testing.assert_allclose(n["W1"], m["W1"], rtol=1e-9, atol=1e-12)


def test_evaluate_command(tmp_path, capsys):
    summary, out = run(tmp_path, limit=None, valid=200, epochs=1, hidden=8)
    assert main(["evaluate", str(out / "model.npz")]) == 0
    printed = capsys.readouterr().out
    assert f"test error {summary['final']['test_error']:.4f}" in printed
    assert "9 Ankle boot" in printed and "confusion matrix" in printed
    assert "no model file" in one_line_exit(["evaluate", str(tmp_path / "none.npz")])


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(valid=1200), "--valid must be between 0 and 1199"),
        (dict(lr=-0.1), "--lr must be finite and >= 0"),
        (dict(weight_decay=math.inf), "--weight-decay must be finite"),
        (dict(lr_gamma=0.0), "--lr-gamma must be finite and > 0"),
        (dict(clip=-1.0), "--clip must be finite and > 0"),
        (dict(early_stopping=2, valid=0), "--early-stopping needs"),
        (dict(model="mlp", features="gradient-norm"), "goes with --model softmax-regression"),
        (dict(backend="fortran"), "valid backends"),
    ],
)
def test_impossible_settings_are_refused_before_any_file(tmp_path, overrides, message):
    with pytest.raises((ValueError, KeyError), match=message):
        run(tmp_path, **overrides)
    assert not (tmp_path / "run").exists()


def test_cli_reports_bad_settings(tmp_path):
    one_line_exit(
        ["train", "--valid", "60000", "--out", str(tmp_path / "x")],
        "kernels train: --valid must be between 0 and 59999",
    )


def test_the_default_validation_split_follows_the_limit(tmp_path):
    """--limit 1000 alone works: the default validation set is a sixth of what is used."""
    assert Settings(limit=1000).valid_size() == 166
    assert Settings().valid_size() == 10_000
    summary, _ = run(tmp_path, valid=None, limit=600, epochs=1, hidden=4)
    (Xtr, _), (Xv, _), _ = tr.split(Settings(limit=600))
    assert (len(Xtr), len(Xv)) == (500, 100)


def test_divergence_stops_clearly_and_leaves_no_files(tmp_path):
    with pytest.raises(
        mlp.DivergenceError,
        match=r"training diverged in epoch \d: .*lower (the learning rate|--lr)",
    ):
        run(tmp_path, lr=1e6, lr_step=None)
    assert not (tmp_path / "run").exists()


def test_existing_run_is_not_overwritten(tmp_path):
    _, out = run(tmp_path, epochs=1)
    before = (out / "log.csv").read_text()
    with pytest.raises(FileExistsError, match="already holds a run"):
        run(tmp_path, epochs=1)
    assert (out / "log.csv").read_text() == before


def test_clip_bounds_every_step(tmp_path):
    clipped, _ = run(tmp_path, "clipped", clip=1e-4, epochs=1, lr=0.1, lr_step=None)
    free, _ = run(tmp_path, "free", epochs=1, lr=0.1, lr_step=None)
    # steps of at most lr * 1e-4 per entry barely move from the initial loss (log 10)
    assert clipped["final"]["train_loss"] > free["final"]["train_loss"] + 0.3


def test_train_into_an_impossible_directory():
    one_line_exit(
        ["train", "--limit", "100", "--valid", "10", "--out", "/dev/null/x"],
        "kernels train: [Errno 20] Not a directory",
    )


def test_train_without_out_saves_under_kernels_results_and_evaluate_takes_the_folder(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert (
        main(["train", "--limit", "300", "--valid", "100", "--epochs", "1", "--backend", "numpy"])
        == 0
    )
    (run,) = (tmp_path / "kernels-results").iterdir()
    assert run.name.startswith("train-") and (run / "model.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--limit", "100"]) == 0
    assert "test error" in capsys.readouterr().out
