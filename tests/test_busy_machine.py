"""Autotune on a busy machine, with scripted timings and load (no real timing here): a
disturbed point is measured again, persistent noise stops the run with one line and
leaves the previous record as it was, a clear winner is still picked; the record can
be shown and removed."""

import pytest
from conftest import one_line_exit

import kernels
from kernels import record, select
from kernels.bench.experiments import passes, tuning
from kernels.bench.timing import load
from kernels.cli import main

FAST, SLOW = 1.0e-8, 1.5e-8  # seconds per example: a clear 1.5x lead


@pytest.fixture
def scripted(monkeypatch):
    """Script the passes of each point (``points``: one times table per measurement, in
    order) and the other work seen meanwhile (``others``: cores, one per measurement)."""
    script = {"points": [], "others": [], "measured": 0, "fork_join": [], "now": []}

    def measure_point(kernel, dtype, K, budget, cap, examples=None):
        script["measured"] += 1
        return script["points"].pop(0)

    monkeypatch.setattr(tuning, "measure_point", measure_point)
    monkeypatch.setattr(tuning, "WAIT", 0.0)
    monkeypatch.setattr(tuning, "measure_blocks", lambda quick: ({}, {}))  # blocks: test_blocks
    monkeypatch.setattr(tuning, "measure_stores", lambda quick: (None, {}))  # test_stores
    monkeypatch.setattr(tuning, "measure_epoch_ways", lambda blocks: (({}, {}), {}))  # see
    # test_epoch_ways
    monkeypatch.setattr(load, "snapshot", lambda: object())
    monkeypatch.setattr(load, "others", lambda before, after: script["others"].pop(0))
    # the look before each try (cores others took): quiet unless a test scripts it
    monkeypatch.setattr(load, "others_now", lambda: script["now"].pop(0) if script["now"] else 0.0)
    # numba's fork/join in microseconds, two probes per measurement (1.0: the norm)
    monkeypatch.setattr(
        load, "fork_join", lambda: script["fork_join"].pop(0) if script["fork_join"] else 1.0
    )
    monkeypatch.setattr(tuning, "_fork_joins", [])
    return script


def pass_times(ranked, other, other_name="numpy"):
    """Three passes of the ranked backend and another, per-pass seconds per example."""
    return {select.ranked("softmax"): list(ranked), other_name: list(other)}


def other_than_ranked():
    return next(b for b in passes.candidates("softmax") if b != select.ranked("softmax"))


def autotune():
    return tuning.autotune(kernels=("softmax",), dtypes=("float64",), sizes=(100,), progress=False)


def test_a_disturbed_point_is_measured_again(scripted):
    other = other_than_ranked()
    scripted["points"] = [
        pass_times([SLOW] * 3, [FAST, 3 * FAST, FAST], other),  # a burst: 200 % spread
        pass_times([SLOW] * 3, [FAST] * 3, other),
    ]
    scripted["others"] = [0.0, 0.0]
    measured = autotune()
    assert scripted["measured"] == 2
    assert measured["noise"]["softmax"]["float64"]["100"]["tries"] == 2
    assert select.choose("softmax", size=100)[0] == other


def test_other_work_on_the_machine_counts_as_disturbed(scripted):
    other = other_than_ranked()
    scripted["points"] = [pass_times([SLOW] * 3, [FAST] * 3, other)] * 2
    scripted["others"] = [0.9, 0.0]  # a neighbour took 0.9 of a core, then left
    autotune()
    saved = record.load_record()
    assert saved["noise"]["softmax"]["float64"]["100"] == {
        "others": 0.0,
        "spread": 0.0,
        "tries": 2,
        "fork_join": None,
    }  # not threaded


def test_a_clear_lead_stands_whatever_the_spread(scripted):
    """A 3x lead with a 50 % spread decides; only a tie inside a wide spread is noise."""
    other = other_than_ranked()
    scripted["points"] = [pass_times([3 * FAST] * 3, [FAST, 1.5 * FAST, FAST], other)]
    scripted["others"] = [0.0]
    autotune()
    assert scripted["measured"] == 1 and select.choose("softmax", size=100)[0] == other


def test_other_work_throughout_stops_without_saving(scripted):
    other = other_than_ranked()
    before = {"softmax": {"float64": {"100": {select.ranked("softmax"): 2e-8}}}}
    record.save_record(before)
    text = record.record_path().read_text()
    scripted["points"] = [pass_times([SLOW] * 3, [FAST] * 3, other)] * tuning.TRIES
    scripted["others"] = [0.9] * tuning.TRIES
    line = one_line_exit(["autotune", "--quick"], "kernels autotune: machine too busy to measure: ")
    assert "nothing saved" in line and scripted["measured"] == tuning.TRIES
    assert "earlier record" in line and "stays in force" in line
    assert record.record_path().read_text() == text  # the old record, untouched
    record.drop_record()
    scripted["points"] = [pass_times([SLOW] * 3, [FAST] * 3, other)] * tuning.TRIES
    scripted["others"] = [0.9] * tuning.TRIES
    line = one_line_exit(["autotune", "--quick"], "kernels autotune: machine too busy")
    assert "earlier record" not in line and not record.record_path().exists()


@pytest.mark.parametrize("others", [0.0, None])
def test_a_lead_inside_a_wide_spread_is_kept_as_an_undecided_tie(scripted, others):
    """Tries and patience spent on a lead (1.5x) inside a 200 % spread: the point is kept,
    marked undecided, and the ranking stands there; the run saves the rest."""
    other = other_than_ranked()
    scripted["points"] = [pass_times([SLOW] * 3, [FAST, 3 * FAST, FAST], other)] * tuning.TRIES
    scripted["others"] = [others] * tuning.TRIES
    measured = autotune()
    seen = measured["noise"]["softmax"]["float64"]["100"]
    assert scripted["measured"] == tuning.TRIES and "undecided" in seen
    backend, why = select.choose("softmax", size=100)
    assert backend == select.ranked("softmax") and "tie" in why


def test_patience_spent_settles_disturbed_points_without_measuring_again(scripted, monkeypatch):
    from kernels.bench.settings import EFFORT, Effort

    monkeypatch.setitem(
        EFFORT, "autotune", {True: Effort(budget=0.01, cap=2.0, sizes=(100,), patience=0.0)}
    )
    other = other_than_ranked()
    scripted["points"] = [pass_times([SLOW] * 3, [FAST, 3 * FAST, FAST], other)]
    scripted["others"] = [0.0]
    measured = tuning.autotune(
        kernels=("softmax",), dtypes=("float64",), quick=True, progress=False
    )
    assert (
        scripted["measured"] == 1 and "undecided" in measured["noise"]["softmax"]["float64"]["100"]
    )


def test_a_saved_tie_never_rests_on_a_spread_above_the_bound(scripted):
    other = other_than_ranked()
    # a 1.05x lead inside a spread just under the bound: a tie, kept
    wobbly = [SLOW / 1.05, SLOW / 1.05 * (1 + tuning.SPREAD_BOUND * 0.9), SLOW / 1.05]
    scripted["points"] = [pass_times([SLOW] * 3, wobbly, other)]
    scripted["others"] = [0.0]
    autotune()
    spreads = record.load_record()["spread"]["softmax"]["float64"]["100"]
    assert (
        0 < spreads[other] <= tuning.SPREAD_BOUND and "tie" in select.choose("softmax", size=100)[1]
    )


def test_a_clear_winner_is_picked_and_a_lead_inside_the_spread_is_a_tie(scripted):
    other = other_than_ranked()
    ranked = select.ranked("softmax")
    lead = [FAST, FAST * 1.2, FAST]  # 1.5x median lead, 20 % spread: a pick
    scripted["points"] = [pass_times([SLOW] * 3, lead, other)]
    scripted["others"] = [0.0]
    autotune()
    assert select.choose("softmax", size=100)[0] == other
    close = [SLOW / 1.1, SLOW / 1.1 * 1.2, SLOW / 1.1]  # 1.1x lead within 20 %: a tie
    scripted["points"] = [pass_times([SLOW] * 3, close, other)]
    scripted["others"] = [0.0]
    autotune()
    backend, why = select.choose("softmax", size=100)
    assert backend == ranked and "tie" in why


def test_a_backend_that_cannot_win_is_not_timed_on(monkeypatch):
    """Probed more than CONTENDER times slower than the fastest: left out of the passes."""
    names = passes.candidates("softmax")
    ranked, slow = select.ranked("softmax"), names[-1]
    if slow == ranked or len(names) < 3:
        pytest.skip("needs three backends besides the ranked one")
    probe = {b: 1e-4 for b in names}
    probe[slow] = 1e-4 * (passes.CONTENDER + 1)

    def fake_time_runs(work, fn, batches, repeats):
        backend = next(b for b in names if fn is kernels.get("softmax", b))
        return [probe[backend] * (batches if work.n != work.K else 1)] * repeats

    monkeypatch.setattr(passes, "time_runs", fake_time_runs)
    monkeypatch.setattr(passes, "settle", lambda work, fn: None)
    times = passes.measure_point("softmax", "float64", 100, 0.01, 2.0)
    assert slow not in times and ranked in times and len(times) == len(names) - 1


def test_the_record_is_shown_and_forgotten(capsys):
    assert main(["autotune", "--show"]) == 0
    assert str(record.record_path()) in capsys.readouterr().out.replace("\n", "")
    record.save_record({"softmax": {"float64": {"100": {select.ranked("softmax"): 1e-8}}}})
    assert main(["autotune", "--show"]) == 0
    shown = capsys.readouterr().out
    assert "softmax" in shown and select.ranked("softmax") in shown
    assert main(["autotune", "--forget"]) == 0
    assert not record.record_path().exists() and record.load_record() is None
    assert select.choose("softmax")[1] == "shipped ranking"


def test_a_slow_spell_of_the_hosts_fork_join_leaves_only_the_threaded_backend_out(scripted):
    """numba's threads pay each fork/join; where it runs at twice its best of the run
    (the host, nothing else running here) a point of a kernel numba splits over threads
    (it has a one-thread twin, numba-serial) is measured again; a spell that lasts
    through every try leaves the threaded backend out of that point, the rest decided,
    and the record says the thread pool is unreliable: the ranking then hands out the
    one-thread twin, never the threaded backend on its own word."""

    def threaded_point():
        return {select.ranked("mlp_epoch"): [SLOW] * 3, "numba-serial": [FAST] * 3}

    def run():
        return tuning.autotune(
            kernels=("mlp_epoch",), dtypes=("float64",), sizes=(100,), progress=False
        )

    scripted["points"] = [threaded_point(), threaded_point()]
    scripted["others"] = [0.0, 0.0]
    scripted["fork_join"] = [1.0, 2.2, 1.0, 1.0]  # the second probe of try 1 is slow
    run()
    assert scripted["measured"] == 2
    assert record.load_record()["noise"]["mlp_epoch"]["float64"]["100"]["tries"] == 2
    assert record.load_record()["machine"]["thread_pool"] == "reliable"
    assert select.choose("mlp_epoch", size=100)[0] == "numba-serial"  # measured faster
    scripted["points"] = [threaded_point() for _ in range(tuning.TRIES)]
    scripted["others"] = [0.0] * tuning.TRIES
    scripted["fork_join"] = [2.2] * (2 * tuning.TRIES)  # the best stays 1.0 from above
    measured = run()
    saved = record.load_record()
    seen = saved["noise"]["mlp_epoch"]["float64"]["100"]
    assert set(seen["left_out"]) == {"numba"} and "2.2x" in seen["left_out"]["numba"]
    assert "numba" not in saved["results"]["mlp_epoch"]["float64"]["100"]
    assert (
        saved["machine"]["thread_pool"] == "unreliable" and measured["machine"] == saved["machine"]
    )
    assert select.choose("mlp_epoch", size=100)[0] == "numba-serial"
    # a kernel the record never measured: the ranking, on one thread
    backend, why = select.choose("gradient_norm", size=100)
    assert backend == "numba-serial" and "thread pool" in why


def test_a_machine_busy_before_measuring_is_refused_without_measuring(scripted):
    """The look before each try sees the neighbour: nothing is timed, and the run stops
    after the tries with the one line."""
    scripted["now"] = [1.0] * tuning.TRIES
    with pytest.raises(tuning.MachineBusy, match="other work took 1.00 cores.*--threads 1"):
        autotune()
    assert scripted["measured"] == 0 and not record.record_path().exists()


@pytest.mark.parametrize("text", ["", "\n", "intr 1 2 3\n", "cpu  x y z\n", "cpu 1 2\n"])
def test_an_unreadable_proc_stat_is_unknown_not_quiet(text, tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text(text)
    monkeypatch.setattr(load, "STAT", str(stat))
    assert load.snapshot() is None
    assert load.others(load.snapshot(), load.snapshot()) is None


def test_counters_that_go_backwards_are_unknown_not_quiet():
    before = load.Snapshot(wall=1.0, busy=100.0, own=1.0)
    assert load.others(before, load.Snapshot(wall=2.0, busy=50.0, own=1.5)) is None
    assert load.others(before, load.Snapshot(wall=2.0, busy=101.0, own=0.5)) is None
    assert load.others(before, load.Snapshot(wall=2.0, busy=101.5, own=1.5)) == pytest.approx(1.0)


def test_show_and_forget_say_no_record_alike_and_measure_nothing(capsys):
    record.drop_record()
    assert main(["autotune", "--show"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert main(["autotune", "--forget"]) == 0
    forgot = " ".join(capsys.readouterr().out.split())
    assert shown == forgot and shown.startswith("no autotune record at ")
    for argv in (["--show", "--quick"], ["--forget", "--threads", "1"]):
        one_line_exit(["autotune", *argv], "kernels autotune: --")


def test_a_corrupt_record_is_one_warning_line_under_the_command_line(capsys):
    record.check_writable().write_text("{not json")
    record.forget()
    assert main(["autotune", "--show"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kernels: warning: ignoring the unreadable")
    assert ".py" not in err[0] and "UserWarning" not in err[0]
    record.drop_record()
