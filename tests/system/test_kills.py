"""SIGKILLs during a real sweep (design_grid.py as a subprocess: local Ray, sqlite MLflow, Train workers found by
their process titles and killed), then the record read back: it must tell the truth.

One sweep of two cells takes four kills: a worker of Lu before its first checkpoint (a restart from step 0), a
worker of Lu after a checkpoint (a resume), the driver's whole process group during uu (its actors, in their own
process groups, are left to die on their own, as they do after a real crash), then the sweep is rerun and one kill
drawn at random from a printed seed hits the rerun (replay it: LITLAB_KILL_SEED=<seed>). experiments/chaos.py
does the same for many random kills.
"""

from __future__ import annotations

import os
import random

import pytest

pytestmark = pytest.mark.system
STEPS, EVERY, LOG = 40, 10, 2
SETS = ("image.size=32", f"optim.steps={STEPS}", "optim.warmup_steps=2", "data.batch_size=16", "eval.max_images=100",
        f"train.log_every={LOG}", f"train.checkpoint_every={EVERY}")
LU, UU = "setup=Lu", "setup=uu"


def _record(uri: str) -> dict[str, dict]:
    from litlab.cluster.tracking import fetch_cell_runs

    return {r["tags"]["cell"]: r for r in fetch_cell_runs(uri, "chaos")}


def _points(uri: str, run_id: str, key: str) -> dict[int, tuple[float, int]]:
    from litlab.cluster.tracking import client

    return {m.step: (m.value, m.timestamp) for m in client(uri).get_metric_history(run_id, key)}


def test_killed_workers_and_driver_leave_a_truthful_record(tiny_shards, tmp_path):
    import chaos
    from litlab.cluster.attempts import attempts
    from litlab.cluster.tracking import client

    seed = int(os.environ.get("LITLAB_KILL_SEED") or random.SystemRandom().randrange(10_000))
    (extra,) = chaos.draw(seed, cells=(UU,), steps=STEPS, kills=1, max_delay=50.0)
    print(f"random kill of this run: seed {seed}: {extra.describe()} (replay: LITLAB_KILL_SEED={seed})")
    kills = [chaos.Kill("worker", 0.0, LU, LOG), chaos.Kill("worker", 0.0, LU, 2 * EVERY + 4),
             chaos.Kill("driver", 0.0, UU, EVERY + 4), extra]
    result = chaos.run_round(seed, tmp_path, tiny_shards, cells=(LU, UU), sets=SETS, kills=kills)
    chaos.show_round(result)
    chaos.report([result])
    assert len(result.done) >= 3 and not [c for c in result.checks if not c.ok], (result.done, result.checks)

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = _record(uri)
    lu = attempts(runs[LU])  # two worker kills: a restart from 0, then a resume, each recorded
    assert [(a["cause"], a["start_step"]) for a in lu.values()][:2] == [("first", "0"), ("worker_restart", "0")]
    assert lu[3]["cause"] == "worker_restart" and int(lu[3]["start_step"]) >= EVERY and len(lu) == 3
    # the values attempt 2 logged past the checkpoint attempt 3 resumed from are not in the run's history
    canonical = _points(uri, runs[LU]["run_id"], "train/loss")
    killed = _points(uri, runs[LU]["run_id"], "attempt.2/train/loss")
    resumed = _points(uri, runs[LU]["run_id"], "attempt.3/train/loss")
    discarded = [s for s in killed if s > int(lu[3]["start_step"])]
    assert discarded and all(canonical[s] == resumed[s] != killed[s] for s in discarded)
    assert sorted(canonical) == list(range(LOG, STEPS + 1, LOG))

    uu = attempts(runs[UU])  # the driver kill: a rerun continued the run from its checkpoint
    assert uu[2]["cause"] == "rerun" and int(uu[2]["start_step"]) >= EVERY
    assert int(uu[1]["last_step"]) >= EVERY + 4
    c = client(uri)
    parents = {r.info.run_id: r for r in c.search_runs([c.get_experiment_by_name("chaos").experiment_id],
                                                       "tags.kind = 'sweep'")}
    # every parent but the last was KILLED by a later invocation. The one that closed the killed invocation's parent
    # is the rerun that recorded uu's attempt 2, or an earlier one: the random kill may hit a rerun before it reaches
    # uu (seed 6042, CI of 2026-12-07: three invocations, the second killed 26 s after its start)
    order = sorted(parents.values(), key=lambda r: r.info.start_time)
    ids = [r.info.run_id for r in order]
    assert [r.info.status for r in order] == ["KILLED"] * (len(order) - 1) + ["FINISHED"]
    later = [ids.index(r.data.tags.get("killed_by_sweep_run", "")) - k for k, r in enumerate(order[:-1])]
    assert all(step > 0 for step in later), later
    killer = parents[uu[1]["invocation"]].data.tags["killed_by_sweep_run"]
    assert ids.index(uu[1]["invocation"]) < ids.index(killer) <= ids.index(uu[2]["invocation"])


def test_kills_inside_a_pack_resume_its_unfinished_cell_only(tiny_shards, tmp_path):
    """Two replicates of Lu train as one pack (one Train run, litlab.cluster.packs). A worker killed in the second
    cell after a checkpoint: Ray Train restarts the workers, the pack skips the finished first cell and resumes the
    second from its checkpoint; the driver killed later in the second cell: the rerun leaves the first cell alone
    and resumes the second in the same Train run, from its own folder."""
    import chaos
    from litlab.cluster.attempts import attempts
    from litlab.cluster.tracking import CHECKPOINTS_TAG
    from litlab.grid import seeded_id

    second = seeded_id(LU, 1)
    kills = [chaos.Kill("worker", 0.0, second, EVERY + 4), chaos.Kill("driver", 0.0, second, 2 * EVERY + 4)]
    result = chaos.run_round(0, tmp_path, tiny_shards, cells=(LU,), sets=SETS, kills=kills, seeds=2)
    chaos.show_round(result)
    assert len(result.done) == 2 and not [c for c in result.checks if not c.ok], (result.done, result.checks)

    runs = _record(f"sqlite:///{tmp_path / 'mlflow.db'}")
    first, resumed = attempts(runs[LU]), attempts(runs[second])
    assert [a["cause"] for a in first.values()] == ["first"]  # never trained again
    assert [a["cause"] for a in resumed.values()] == ["first", "worker_restart", "rerun"]
    assert int(resumed[2]["start_step"]) >= EVERY and int(resumed[3]["start_step"]) >= 2 * EVERY
    folders = [runs[c]["tags"][CHECKPOINTS_TAG] for c in (LU, second)]  # one Train run, a folder per cell
    assert folders[0].rsplit("/", 1)[0] == folders[1].rsplit("/", 1)[0] and folders[0] != folders[1]
