"""litlab.cluster.orphans: which placement groups are worker groups Ray Train left behind (no Ray cluster)."""

from __future__ import annotations

from litlab.cluster.orphans import orphans_of

WORKERS = {0: {"CPU": 0.5}, 1: {"CPU": 0.5}}
TRIAL = {0: {"memory": 268435456.0}}  # a Tune trial's group: memory only


def group(bundles=WORKERS, state="CREATED"):
    return {"state": state, "bundles": bundles}


def test_a_group_holding_cpus_whose_actors_all_died_is_an_orphan_and_nothing_else_is():
    groups = {"leaked": group(), "training": group(), "starting": group(), "removed": group(state="REMOVED"),
              "restarting": group(), "trial": group(TRIAL), "gpu": group({0: {"GPU": 1.0}})}
    actors = [("leaked", "DEAD"), ("leaked", "DEAD"),
              ("training", "ALIVE"), ("training", "ALIVE"),
              ("removed", "DEAD"),
              ("restarting", "DEAD"), ("restarting", "PENDING_CREATION"),
              ("trial", "DEAD"),  # a finished trial's group reserves no CPU: Tune removes it
              ("gpu", "DEAD"),
              (None, "ALIVE")]  # actors outside any placement group
    assert orphans_of(groups, actors) == ["gpu", "leaked"]  # "starting" has no actor yet: a run about to use it
