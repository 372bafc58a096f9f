"""The record of a run that was killed and restarted: invocations and attempts claimed once each (never overwritten),
a stale invocation fenced off, one history (the final model's lineage) published once however often publishing is
interrupted, stale sweep parents closed. A real MLflow sqlite store; no Ray."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory) -> tuple[str, str]:
    """(uri, experiment id) of one sqlite MLflow store for the module (creating one takes seconds)."""
    from litlab.cluster.tracking import client

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return uri, client(uri).create_experiment("runs", artifact_location=(folder / "artifacts").as_uri())


@pytest.fixture
def store(sqlite_store, request):
    """(uri, an experiment of its own, a new run id in it)."""
    from litlab.cluster.tracking import client

    uri, _ = sqlite_store
    exp = client(uri).create_experiment(request.node.name)
    return uri, exp, client(uri).create_run(exp).info.run_id


def _run(uri: str, run_id: str) -> dict:
    from litlab.cluster.tracking import client

    run = client(uri).get_run(run_id)
    return {"params": run.data.params, "tags": run.data.tags, "metrics": run.data.metrics}


def test_attempts_are_numbered_with_their_cause_and_never_rewritten(store):
    from litlab.cluster.attempts import attempts, begin_attempt, claim_invocation

    uri, _, run_id = store
    assert claim_invocation(uri, run_id, "sweepA", "new") == 1
    first = begin_attempt(uri, run_id, invocation="sweepA", start_step=0, from_checkpoint=None, from_attempt=None)
    again = begin_attempt(uri, run_id, invocation="sweepA", start_step=0, from_checkpoint=None, from_attempt=None)
    assert claim_invocation(uri, run_id, "sweepB", "RUNNING") == 2
    rerun = begin_attempt(uri, run_id, invocation="sweepB", start_step=20, from_checkpoint="checkpoint_000000020_ab",
                          from_attempt=2, data_position={"epoch": 0, "batch": 7})
    assert [(a.number, a.cause, a.start_step) for a in (first, again, rerun)] == [
        (1, "first", 0), (2, "worker_restart", 0), (3, "rerun", 20)]  # a restart from step 0 leaves its trace
    record = attempts(_run(uri, run_id))
    assert record[3]["from_attempt"] == "2" and record[3]["from_checkpoint"] == "checkpoint_000000020_ab"
    assert record[3]["invocation"] == "sweepB" and "'epoch': 0" in record[3]["data_position"]
    assert record[1]["start_step"] == record[2]["start_step"] == "0"  # the first resume is not overwritten


def test_two_claimants_of_one_number_never_both_get_it(store):
    """A claimant that read the run before another claimed number 1 still ends up with number 2."""
    from litlab.cluster import attempts as module
    from litlab.cluster.tracking import client

    uri, _, run_id = store
    c = client(uri)
    stale = c.get_run(run_id)  # read before the other claimant wrote
    assert module._claim(c, run_id, "attempt", "token-of-the-other") == 1

    class SlowReader:
        """The store as the second claimant first saw it, then as it is."""

        def __init__(self) -> None:
            self.reads = 0

        def get_run(self, rid: str):
            self.reads += 1
            return stale if self.reads == 1 else c.get_run(rid)

        def log_param(self, *args) -> None:
            c.log_param(*args)

    assert module._claim(SlowReader(), run_id, "attempt", "my-token") == 2
    assert {k: v for k, v in c.get_run(run_id).data.params.items()} == {
        "attempt.1": "token-of-the-other", "attempt.2": "my-token"}


def test_the_newest_invocation_owns_the_run(store):
    from litlab.cluster.attempts import claim_invocation, owns

    uri, _, run_id = store
    assert owns(uri, run_id, None)  # a run no sweep claimed (e.g. a benchmark's): whoever trains it
    claim_invocation(uri, run_id, "sweepA", "new")
    assert owns(uri, run_id, "sweepA")
    claim_invocation(uri, run_id, "sweepB", "RUNNING")
    assert owns(uri, run_id, "sweepB") and not owns(uri, run_id, "sweepA")


def _history(attempts_: list[tuple[int, int, int]]):
    """A History as the lineage builds it: attempt a ran from its start step to its last step."""
    from litlab.cluster.history import History

    h = History()
    for attempt, start, last in attempts_:
        h.values = {k: {s: p for s, p in v.items() if s <= start} for k, v in h.values.items()}  # restored part
        h.begin(attempt, start)
        for step in range(start + 2, last + 1, 2):
            h.add(step, {"train/loss": 100.0 * attempt + step}, 1000 * attempt + step)
    return h


def test_history_keeps_the_first_value_of_a_step_and_round_trips_through_json():
    import json

    from litlab.cluster.history import History

    h = _history([(1, 0, 8)])
    h.add(8, {"train/loss": -1.0}, 5)  # a re-evaluation at a step already there
    again = History(json.loads(json.dumps(h.to_dict())))
    assert list(again.points()) == list(h.points()) and again.lineage == [(1, 0)]
    assert [v for _, s, v, _ in again.points() if s == 8] == [108.0]


def test_lineage_segments_and_text():
    from litlab.cluster.finish import lineage_text

    h = _history([(1, 0, 6)])
    h.begin(3, 4)
    h.begin(4, 10)
    assert h.segments(10) == [(1, -1, 4), (3, 4, 10), (4, 10, 10)]
    assert lineage_text(h, 10) == "attempt 1: steps 0-4; attempt 3: steps 5-10"  # 4's empty segment left out


def test_publish_logs_each_step_once_even_when_cut_short_and_repeated(store):
    from litlab.cluster.history import History, publish
    from litlab.cluster.tracking import client

    uri, _, run_id = store
    full = _history([(1, 0, 6), (2, 4, 10)])  # attempt 2 resumed from step 4: its values from 6 on
    cut = History(full.to_dict())
    cut.values = {k: {s: p for s, p in v.items() if s <= 6} for k, v in cut.values.items()}  # killed midway
    assert publish(uri, run_id, cut) == 3
    assert publish(uri, run_id, full) == 2 and publish(uri, run_id, full) == 0
    history = client(uri).get_metric_history(run_id, "train/loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (2, 102.0, 1002), (4, 104.0, 1004), (6, 206.0, 2006), (8, 208.0, 2008), (10, 210.0, 2010)]


def test_the_attempt_logger_logs_live_under_its_own_names_and_keeps_the_history(store):
    from litlab.cluster.history import AttemptLogger, History
    from litlab.cluster.tracking import client

    uri, _, run_id = store
    logger = AttemptLogger(uri, run_id, 2, History({"lineage": [[1, 0]], "metrics": {"train/loss": [[2, 1.5, 7]]}}))
    logger.begin(2)
    logger.log(4, {"train/loss": 1.25})
    c = client(uri)
    assert set(c.get_run(run_id).data.metrics) == {"attempt.2/step", "attempt.2/train/loss"}  # nothing canonical
    live = c.get_metric_history(run_id, "attempt.2/train/loss")
    assert [(m.step, m.value) for m in live] == [(4, 1.25)]
    assert [(s, v, t) for k, s, v, t in logger.history.points()] == [(2, 1.5, 7), (4, 1.25, live[0].timestamp)]
    assert [m.step for m in c.get_metric_history(run_id, "attempt.2/step")] == [2, 4]
    assert logger.history.lineage == [(1, 0), (2, 2)]


def test_close_attempts_writes_each_tag_once(store):
    from litlab.cluster.attempts import begin_attempt, close_attempts
    from litlab.cluster.tracking import client

    uri, _, run_id = store
    begin_attempt(uri, run_id, invocation=None, start_step=0, from_checkpoint=None, from_attempt=None)
    close_attempts(uri, run_id, {1: 10}, "attempt 1: steps 0-10")
    close_attempts(uri, run_id, {1: 12, 2: None}, "attempt 2: steps 0-12")  # a later finish adds, never rewrites
    tags = client(uri).get_run(run_id).data.tags
    assert (tags["attempt.1.last_step"], tags["attempt.2.last_step"]) == ("10", "none logged")
    assert tags["history.lineage"] == "attempt 1: steps 0-10"


def test_a_rerun_closes_the_killed_invocations_parent_run(store):
    from litlab.cluster.attempts import close_stale_parents
    from litlab.cluster.tracking import client

    uri, exp, _ = store
    c = client(uri)
    killed, done, new = (c.create_run(exp, tags={"kind": "sweep"}).info.run_id for _ in range(3))
    c.set_terminated(done, "FINISHED")
    assert close_stale_parents(uri, exp, new) == [killed]
    run = c.get_run(killed)
    assert run.info.status == "KILLED" and run.data.tags["killed_by_sweep_run"] == new
    assert c.get_run(done).info.status == "FINISHED" and c.get_run(new).info.status == "RUNNING"


def test_the_audit_accepts_a_truthful_record_and_names_every_lie(store):
    """The invariants experiments/chaos.py and the kill test rely on can fail: a record built as a killed and
    resumed run writes it passes; a discarded value in the history, a doubled step, a missing field do not."""
    from litlab.cluster.attempts import begin_attempt, close_attempts
    from litlab.cluster.audit import attempt_problems, lineage_problems, steps_once
    from litlab.cluster.finish import last_steps, lineage_text
    from litlab.cluster.history import AttemptLogger, History, publish
    from litlab.cluster.tracking import client

    uri, _, run_id = store
    c = client(uri)
    history = History()
    for number, start, last in ((1, 0, 8), (2, 4, 10)):  # attempt 1 killed at step 8; 2 resumed from step 4
        begin_attempt(uri, run_id, invocation="s", start_step=start, from_checkpoint=None if start == 0 else "ck",
                      from_attempt=None if start == 0 else 1)
        history = History({"lineage": history.to_dict()["lineage"], "metrics": {
            k: [[s, v, t] for s, v, t in rows if s <= start] for k, rows in history.to_dict()["metrics"].items()}})
        logger = AttemptLogger(uri, run_id, number, history)
        logger.begin(start)
        for step in range(start + 2, last + 1, 2):
            logger.log(step, {"train/loss": 10.0 * number + step})
    publish(uri, run_id, history)
    close_attempts(uri, run_id, last_steps(uri, run_id), lineage_text(history, 10))

    def audit() -> list[str]:
        run = c.get_run(run_id)
        record = {"params": run.data.params, "tags": run.data.tags, "metrics": run.data.metrics}
        histories = {k: c.get_metric_history(run_id, k) for k in run.data.metrics}
        return steps_once(histories) + lineage_problems(record, histories) + attempt_problems(record)

    assert c.get_run(run_id).data.tags["history.lineage"] == "attempt 1: steps 0-4; attempt 2: steps 5-10"
    assert audit() == []
    killed = next(m for m in c.get_metric_history(run_id, "attempt.1/train/loss") if m.step == 6)
    c.log_metric(run_id, "train/loss", killed.value, killed.timestamp, step=6)  # what first-value-wins kept before
    assert audit() == ["train/loss logged 1 step(s) twice",
                       "train/loss: steps [6] differ from the lineage's live values"]
    c.set_tag(run_id, "attempt.3.cause", "rerun")  # a tag without its claim is not an attempt
    c.log_param(run_id, "attempt.3", "x")
    assert any("attempt 3 lacks ['start_step', 'invocation', 'started_at', 'last_step']" in p for p in audit())


def test_a_cell_that_used_up_its_own_restarts_is_failed_and_its_pack_goes_on(store):
    """A pack's Train run pools its cells' restart budgets; rank 0 holds each cell to train.max_failures restarts
    in one invocation (litlab.cluster.train._to_train), counted from the run's attempt records."""
    from litlab.cluster.attempts import begin_attempt, claim_invocation, starts_in
    from litlab.cluster.finish import fail_cell
    from litlab.cluster.tracking import client
    from litlab.cluster.train import _to_train
    from litlab.config import RunConfig, override, to_dict

    uri, _, run_id = store
    claim_invocation(uri, run_id, "sweepA", "new")
    cell = {"tracking_uri": uri, "run_id": run_id, "cell_id": "setup=Lu", "invocation": "sweepA",
            "run": to_dict(override(RunConfig(), "train.max_failures", 1))}
    assert starts_in(uri, run_id, "sweepA") == 0 and _to_train(cell)  # its first start
    begin_attempt(uri, run_id, invocation="sweepA", start_step=0, from_checkpoint=None, from_attempt=None)
    assert _to_train(cell)  # restart 1 of 1
    begin_attempt(uri, run_id, invocation="sweepA", start_step=10, from_checkpoint=None, from_attempt=None)
    assert starts_in(uri, run_id, "sweepA") == 2 and starts_in(uri, run_id, "sweepB") == 0
    assert _to_train({**cell, "run": to_dict(override(RunConfig(), "train.max_failures", -1))})  # unlimited
    assert client(uri).get_run(run_id).info.status == "RUNNING"
    assert not _to_train(cell)  # restart 2 of 1: closed, not trained
    run = client(uri).get_run(run_id)
    assert run.info.status == "FAILED" and "more than train.max_failures=1" in run.data.tags["error"]
    assert not _to_train(cell) and not fail_cell(uri, run_id, "setup=Lu", "sweepA", "the pack failed later")
    assert client(uri).get_run(run_id).data.tags["error"] == run.data.tags["error"]  # its first error stays
