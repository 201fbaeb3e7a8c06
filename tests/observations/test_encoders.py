"""What the features mean: maps, hints, landmarks, social snippet, flags."""

from __future__ import annotations

import numpy as np
import pytest

from tests.env.helpers import run_scripted, world
from townlet.core.observations._social import embedding_table
from townlet.core.observations.encoders import FullEncoder, FullParams, HybridEncoder, HybridParams
from townlet.core.registry import Registry
from townlet.core.world.pathing import DIRECTIONS
from townlet.core.world.rows import TownRows


def col(spec, comp: str, name: str) -> int:
    return [f.name for f in spec[comp].features].index(name)


@pytest.fixture(scope="module")
def running():
    w = world("seed=11")
    run_scripted(w, 300)
    return w


def test_builtins_are_registered_plugins() -> None:
    reg = Registry()
    names = {i.name for i in reg.infos("observation_encoders")}
    assert {"full", "hybrid", "compact"} <= names
    assert all(i.dist == "townlet-core" for i in reg.infos("observation_encoders"))


def test_map_channels_describe_the_surroundings(running) -> None:
    enc = FullEncoder(FullParams())
    arrays = enc.encode(TownRows.of(running))
    m = arrays["map"]
    a = running.agents
    r = 5
    alive = np.flatnonzero(a.alive)
    assert (m[alive, 0, r, r] == 1.0).all()  # self at the centre
    for slot in alive:
        x, y = (int(v) for v in a.xy[slot])
        for other in alive:
            ox, oy = (int(v) for v in a.xy[other])
            if other != slot and abs(ox - x) <= r and abs(oy - y) <= r:
                assert m[slot, 1, oy - y + r, ox - x + r] == 1.0
        # objects channel: walls are -1, objects positive
        window = running.town.walkable[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
        assert ((m[slot, 2] == -1).sum()) >= (~window).sum()
    for slot in alive[running.agents.target[alive] >= 0]:
        tgt = int(running.agents.target[slot])
        x, y = (int(v) for v in a.xy[slot])
        d = int(running.fields.step[tgt, y, x])
        if d >= 0:
            assert m[slot, 4, r, r] == DIRECTIONS[d, 0] and m[slot, 5, r, r] == DIRECTIONS[d, 1]


def test_path_hint_and_landmarks(running) -> None:
    enc = HybridEncoder(HybridParams())
    spec = enc.spec
    s = enc.encode(TownRows.of(running))["scalars"]
    a = running.agents
    hint = s[:, col(spec, "scalars", "path.n") : col(spec, "scalars", "path.n") + 4]
    for slot in np.flatnonzero(a.alive & (a.target >= 0)):
        d = int(running.fields.step[a.target[slot], a.xy[slot, 1], a.xy[slot, 0]])
        if d >= 0:
            assert hint[slot, d] == 1.0 and hint[slot].sum() == 1.0
    dx = col(spec, "scalars", "landmark.home.dx")
    for slot in np.flatnonzero(a.alive):
        bed = running.town.object_xy[a.bed[slot]]
        v = bed - a.xy[slot]
        norm = np.hypot(*v)
        if norm:
            np.testing.assert_allclose(s[slot, dx : dx + 2], v / norm, atol=1e-6)
        dist = running.fields.dist[a.bed[slot], a.xy[slot, 1], a.xy[slot, 0]]
        np.testing.assert_allclose(s[slot, dx + 2], dist / (dist + 20), atol=1e-6)


def test_needs_time_and_flags(running) -> None:
    enc = FullEncoder(FullParams(horizon=600))
    spec = enc.spec
    s = enc.encode(TownRows.of(running))["scalars"]
    a = running.agents
    np.testing.assert_allclose(s[a.alive, :3], a.needs[a.alive])
    tod = running.clock.tick_of_day(running.tick) / running.clock.ticks_per_day
    np.testing.assert_allclose(
        s[a.alive, col(spec, "scalars", "time.sin")], np.sin(2 * np.pi * tod), atol=1e-6
    )
    assert s[a.alive, col(spec, "scalars", "episode.progress")] == pytest.approx(300 / 600)
    one_hot = s[:, col(spec, "scalars", "option.wait") : col(spec, "scalars", "option.wait") + 7]
    assert (one_hot[a.alive].sum(axis=1) == 1).all()


def test_ctx_reset_flag_follows_teleport() -> None:
    w = world("seed=2")
    run_scripted(w, 5)
    enc = FullEncoder(FullParams())
    c = col(enc.spec, "scalars", "ctx_reset_flag")
    assert not enc.encode(TownRows.of(w))["scalars"][:, c].any()
    w.teleport(3, 24, 21)
    flags = enc.encode(TownRows.of(w))["scalars"][:, c]
    assert flags[3] == 1.0 and flags.sum() == 1.0


def test_social_snippet_needs_stage_b_and_ranks_ties() -> None:
    off = world("seed=4")
    on = world("seed=4", "features.stages.relationships=B")
    for w in (off, on):
        a = w.agents
        a.tie_other[0, :3] = (1, 2, 3)
        a.tie_trust[0, :3] = (0.9, 0.1, -0.5)
        a.tie_familiarity[0, :3] = (0.5, 0.2, 0.0)
        a.tie_rivalry[0, :3] = (0.0, 0.0, 0.8)
    enc = FullEncoder(FullParams())
    assert not enc.encode(TownRows.of(off))["social"].any()
    soc = enc.encode(TownRows.of(on))["social"]
    spec = enc.spec
    table = embedding_table()
    emb1 = table[on.agents.embed_slot[1]]
    f0 = col(spec, "social", "friend0.embed0")
    np.testing.assert_allclose(soc[0, f0 : f0 + 8], emb1, atol=1e-6)
    assert soc[0, col(spec, "social", "friend0.trust")] == pytest.approx(0.9)
    assert soc[0, col(spec, "social", "friend1.trust")] == pytest.approx(0.1)
    assert soc[0, col(spec, "social", "rival0.rivalry")] == pytest.approx(0.8)
    assert soc[0, col(spec, "social", "ties")] == pytest.approx(3 / 6)
    assert not soc[0, col(spec, "social", "rival1.embed0") :][:8].any()


def test_embeddings_are_distinct_and_nonzero() -> None:
    table = embedding_table(64)
    assert table.shape == (64, 8)
    assert (np.abs(table).sum(axis=1) > 0).all()
    assert len({row.tobytes() for row in table}) == 64
