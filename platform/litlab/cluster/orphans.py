"""Worker groups that Ray Train left behind: a placement group still holding its CPUs after its workers all died.

Found by the chaos script (seed 20261216): a Train worker killed while Ray Train 2.60 launched the train function
on the worker group made the controller fail (``ControllerError``) without shutting the group down; its placement
group (1 of the machine's 2 CPUs) stayed CREATED after the controller and the trial had ended, and the next
trial's Ray Data reads waited for a CPU forever. A trial that a scheduler stops has leaked the same way
(ray-project/ray#54305). Each trial therefore removes such groups before it starts and after its ``fit`` fails
(a ``fit`` that returns has shut its own group down).

An orphan is a CREATED placement group that reserves CPUs or GPUs, had actors, and whose actors are all dead, on
two looks ``recheck_s`` apart: Ray Train replacing a failed worker group removes the old group within moments of
its workers dying, and a group just created for a starting run has no actors yet; neither is touched.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import ray
from ray.util.placement_group import PlacementGroup, remove_placement_group

from litlab.cluster import console

RECHECK_S = 3.0


def orphans_of(groups: Mapping[str, Mapping[str, Any]], actors: Iterable[tuple[str | None, str]]) -> list[str]:
    """The orphans among ``groups`` ({id: {"state", "bundles": {index: resources}}}) given ``actors``: (placement
    group id or None, state) pairs from Ray's state API."""
    states: dict[str, set[str]] = defaultdict(set)
    for group, state in actors:
        if group:
            states[group].add(state)
    return sorted(gid for gid, info in groups.items()
                  if info.get("state") == "CREATED" and _reserves(info) and states.get(gid) == {"DEAD"})


def _reserves(info: Mapping[str, Any]) -> bool:
    return any(b.get("CPU", 0) or b.get("GPU", 0) for b in info.get("bundles", {}).values())


def _look() -> list[str]:
    """This job's orphans now (another job's groups on a shared cluster are never touched); none when Ray's state
    API does not answer (a cluster started without its dashboard)."""
    from ray.util.state import list_actors, list_placement_groups

    job = ray.get_runtime_context().get_job_id()
    try:
        actors = list_actors(detail=True, limit=10_000, raise_on_missing_output=False)
        groups = list_placement_groups(detail=True, limit=10_000, raise_on_missing_output=False)
    except Exception as err:  # the state API's errors vary with the cluster: nothing to clean is the safe answer
        print(f"orphaned placement groups not checked: Ray's state API did not answer ({type(err).__name__}: "
              f"{err})"[:500], flush=True)
        return []
    ours = {g.placement_group_id: {"state": g.state, "bundles": {i: b.get("unit_resources", {})
                                                                  for i, b in enumerate(g.bundles or [])}}
            for g in groups if g.creator_job_id == job}
    return orphans_of(ours, ((a.placement_group_id, a.state) for a in actors))


def remove_orphans(recheck_s: float = RECHECK_S) -> list[str]:
    """Remove every orphaned worker group (a warning on the sweep's console names each); their ids."""
    first = _look()
    if not first:
        return []
    time.sleep(recheck_s)
    gone = sorted(set(first) & set(_look()))
    for gid in gone:
        remove_placement_group(PlacementGroup(ray.PlacementGroupID.from_hex(gid)))
        console.say(f"removed placement group {gid}: its Train workers were all dead and it still held their "
                    "resources (a worker group Ray Train did not shut down)", warn=True)
    return gone
