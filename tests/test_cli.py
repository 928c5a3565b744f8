"""The command line as a new user meets it: malformed model files, bad flags and output
folders refused before any work, one line on stderr, help that says what each option does."""

import os

import numpy as np
import pytest
from conftest import one_line_exit

from kernels.cli import main


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A 4-unit MLP written by `train` on 200 examples, as its arrays."""
    out = tmp_path_factory.mktemp("model") / "run"
    assert (
        main(
            [
                "train",
                "--limit",
                "200",
                "--valid",
                "20",
                "--epochs",
                "1",
                "--hidden",
                "4",
                "--backend",
                "numpy",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with np.load(out / "model.npz") as saved:
        return {k: saved[k] for k in saved.files}


@pytest.mark.parametrize(
    "change",
    [
        {"b1": np.zeros(1)},
        {"b2": np.zeros(1)},
        {"W2": np.zeros((10, 1))},
        {"feature_mean": np.zeros(1)},
        {"feature_std": np.array(1.0)},
        {"b2": None},
        {"W2": None},
        {"extra": np.zeros(3)},
        {"W1": np.full((4, 784), np.nan)},
    ],
)
def test_evaluate_refuses_malformed_model_files(saved_model, tmp_path, change):
    """Arrays that would broadcast, be missing (left at their initial values) or be
    extra are refused, naming what was expected."""
    arrays = {**saved_model, **change}
    path = tmp_path / "model.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    one_line_exit(["evaluate", str(path)], f"kernels evaluate: {path} is not a readable model")
    good = tmp_path / "good.npz"
    np.savez(good, **saved_model)
    assert main(["evaluate", str(good)]) == 0


@pytest.mark.parametrize(
    "argv,start", [(["agree", "-n", "0"], "usage:"), (["agree", "-n", "-1"], "usage:")]
)
def test_agree_refuses_no_examples(argv, start, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "must be an integer >= 1" in capsys.readouterr().err


def test_report_refuses_before_measuring(tmp_path, monkeypatch):
    """Bad output folders and unknown peers are refused before any timing."""
    from kernels.bench.experiments import report

    monkeypatch.setattr(
        report, "time_report", lambda *a, **kw: pytest.fail("measured before refusing")
    )
    (tmp_path / "file").write_text("")
    one_line_exit(
        ["report", "--out", str(tmp_path / "file" / "sub")], "kernels report: cannot write"
    )
    one_line_exit(["report", "--peers", "nosuch"], "kernels report: unknown peer(s) nosuch")


def test_scaling_on_too_many_cores_leaves_nothing_behind(tmp_path):
    cores = len(os.sched_getaffinity(0))
    one_line_exit(
        ["scaling", "--quick", "--threads", str(cores + 1), "--out", str(tmp_path / "s")],
        "kernels scaling:",
    )
    assert not (tmp_path / "s").exists()


def test_data_not_found_is_one_line_on_stderr(tmp_path, capsys):
    message = one_line_exit(["data", "--path", str(tmp_path)], "kernels data: Fashion-MNIST in ")
    assert "delete the bad file" not in message and capsys.readouterr().out == ""


def test_help_is_plain_text_and_every_train_option_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "``" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--seed", "--model", "--activation"):
        described = text.split(option)[-1].split("\n  -")[0]
        assert "default" in described, option
