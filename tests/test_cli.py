"""The command line as a new user meets it: malformed model files, bad flags and output
folders refused before any work, one line on stderr, help that says what each option does."""

import json
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


def test_blown_up_training_run_exits_non_zero_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "x"
    one_line_exit(
        "train --limit 1000 --valid 100 --epochs 1 --lr 1e6 --out".split() + [str(out)],
        "kernels train: training diverged in epoch 1",
    )
    assert not (out / "model.npz").exists()


def test_evaluate_on_bad_model_files(tmp_path):
    truncated = tmp_path / "truncated.npz"
    np.savez(truncated, W1=np.zeros(3), summary="{}")
    truncated.write_bytes(truncated.read_bytes()[:40])
    one_line_exit(
        ["evaluate", str(truncated)], f"kernels evaluate: {truncated} is not a readable model"
    )
    without_w1 = tmp_path / "no_w1.npz"
    settings_json = json.dumps({"settings": {"hidden": 4}})
    np.savez(
        without_w1, summary=settings_json, feature_mean=np.zeros(784), feature_std=np.ones(784)
    )
    one_line_exit(
        ["evaluate", str(without_w1)], f"kernels evaluate: {without_w1} is not a readable"
    )
    one_line_exit(["evaluate", str(tmp_path / "none.npz")], "kernels evaluate: no model file")


@pytest.mark.parametrize(
    "spec, says",
    [
        ("softmax:", "KERNELS_BACKEND=softmax:: cannot read 'softmax:'"),
        ("softmax:torch", "unknown backend 'torch' for kernel 'softmax'; valid backends: python"),
        ("nope", "unknown backend 'nope' for kernel 'softmax'; valid backends: python"),
    ],
)
def test_bad_backend_choice_in_report(monkeypatch, spec, says):
    monkeypatch.setenv("KERNELS_BACKEND", spec)
    argv = ["report", "--quick", "--examples", "100", "--kernels", "softmax"]
    one_line_exit(argv, f"kernels report: {says}")


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(4096), b"a,b,c\n1,2,3\n"])
def test_evaluate_of_a_file_that_is_not_a_model_says_so(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    line = one_line_exit(["evaluate", str(path)], "kernels evaluate: ")
    assert "not a model file" in line and "pickle" not in line


def test_agree_refuses_more_examples_than_it_can_compare_in_reasonable_time(capsys):
    line = one_line_exit(["agree", "-n", "999999"], "kernels agree: -n 999999")
    assert "2,000" in line and capsys.readouterr().out == ""


def test_every_subcommand_help_starts_with_what_it_does(capsys):
    import argparse

    parser_commands = (
        "data",
        "agree",
        "report",
        "autotune",
        "compare",
        "scaling",
        "gpu",
        "train",
        "evaluate",
    )
    for command in parser_commands:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        usage_end = text.index("\n\n")
        description = text[usage_end:].strip().split("\n\n")[0]
        assert description and not description.startswith(("positional", "options")), command
    assert argparse


@pytest.mark.parametrize(
    "size, says",
    [
        ("width=3", "kernels report: --size: no chosen kernel has the axis width; their axes: dh"),
        ("side=30", "kernels report: --size: side must be a positive integer multiple of 28"),
    ],
)
def test_report_refuses_a_bad_size_before_measuring(size, says, monkeypatch):
    from kernels.bench.timing import limits

    monkeypatch.setattr(limits, "machine_rates", lambda *a, **k: pytest.fail("measured"))
    kernels = "gradient_norm" if size.startswith("side") else "mlp_epoch"
    one_line_exit(["report", "--quick", "--kernels", kernels, "--size", size], says)


@pytest.mark.parametrize("size", ["dh", "dh=0", "=5", "dh=x"])
def test_a_size_not_written_axis_equals_n_is_a_usage_error(size, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["report", "--size", size])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"takes AXIS=N, N a positive integer; got {size}" in err
