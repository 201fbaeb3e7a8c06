"""The entry-point registry: listing, resolving, checking, building, errors."""

from __future__ import annotations

import importlib.metadata as md
import sys
from pathlib import Path

import pytest

from townlet.core.config import load_config, parse_override
from townlet.core.errors import (
    PluginError,
    PluginImportError,
    PluginParamsError,
    PluginVersionError,
    UnknownPluginError,
)
from townlet.core.ports import TelemetryEvent, TelemetrySink
from townlet.core.registry import PORTS, Registry, port
from townlet.core.training.context import build_context

SINKS = "townlet.telemetry_sinks"


def test_every_port_has_its_group() -> None:
    assert [p.group for p in PORTS] == [
        "townlet.observation_encoders",
        "townlet.reward_stages",
        "townlet.training_strategies",
        "townlet.telemetry_sinks",
        "townlet.policies",
        "townlet.scenarios",
    ]
    with pytest.raises(KeyError, match="ports: observation_encoders"):
        port("nope")


def test_listing_reads_metadata_without_importing(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme-sinks",
        "2.3",
        entry_points={SINKS: {"acme": "acme_sink_mod:Sink"}},
        modules={"acme_sink_mod": "raise RuntimeError('imported during listing')\n"},
        requires=("torch>=2", "rich; extra == 'pretty'"),
    )
    (info,) = [i for i in Registry().infos("telemetry_sinks") if i.dist == "acme-sinks"]
    assert (info.name, info.dist, info.version, info.target) == (
        "acme",
        "acme-sinks",
        "2.3",
        "acme_sink_mod:Sink",
    )
    assert info.requires_torch
    assert "acme_sink_mod" not in sys.modules


def test_build_validates_params_and_constructs(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme", entry_points={SINKS: {"acme": "acme_ok:Sink"}}, modules={"acme_ok": sink_plugin_src}
    )
    registry = Registry()
    sink = registry.build("telemetry_sinks", "acme", {"rate": 0.25})
    assert isinstance(sink, TelemetrySink)
    assert sink.params.rate == 0.25
    sink.emit(TelemetryEvent("metric", 3, {"x": 1}))
    assert sink.events[0].tick == 3
    assert not Registry().find("telemetry_sinks", "acme").requires_torch


def test_bad_params_name_plugin_field_value_and_bound(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme", entry_points={SINKS: {"acme": "acme_p:Sink"}}, modules={"acme_p": sink_plugin_src}
    )
    with pytest.raises(PluginParamsError) as err:
        Registry().build("telemetry_sinks", "acme", {"rate": 7})
    msg = str(err.value)
    assert "telemetry sink 'acme' (acme 1.0)" in msg
    assert "params.rate" in msg
    assert "less than or equal to 1" in msg
    assert "(got 7)" in msg
    with pytest.raises(PluginParamsError, match=r"params\.colour: Extra inputs are not permitted"):
        Registry().build("telemetry_sinks", "acme", {"colour": "red"})


def test_unknown_name_lists_installed_and_suggests(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme", entry_points={SINKS: {"acme": "acme_u:Sink"}}, modules={"acme_u": sink_plugin_src}
    )
    with pytest.raises(UnknownPluginError) as err:
        Registry().find("telemetry_sinks", "acmee")
    msg = str(err.value)
    assert "Unknown telemetry sink 'acmee'." in msg
    assert "Did you mean 'acme'?" in msg
    assert "Installed telemetry sinks: acme (acme 1.0), " in msg


def test_unknown_first_party_name_names_its_distribution() -> None:
    registry = Registry(entry_points=[])
    with pytest.raises(UnknownPluginError) as err:
        registry.find("training_strategies", "ppoo")
    try:
        have = md.version("townlet-strategies")
    except md.PackageNotFoundError:  # then, and only then, the hint is to install it
        hint = "'ppo' is provided by townlet-strategies: pip install townlet-strategies."
    else:
        hint = f"'ppo' belongs to townlet-strategies, which is installed ({have}) but does not"
    assert f"Did you mean 'ppo'? {hint}" in str(err.value)


def test_import_failure_names_distribution_version_and_error(make_dist) -> None:
    make_dist(
        "acme-broken",
        "0.9",
        entry_points={SINKS: {"bad": "acme_bad:Sink"}},
        modules={"acme_bad": "import not_a_real_module_xyz\n"},
    )
    with pytest.raises(PluginImportError) as err:
        Registry().load("telemetry_sinks", "bad")
    msg = str(err.value)
    assert "'bad' from acme-broken 0.9 failed to import" in msg
    assert "ModuleNotFoundError" in msg and "not_a_real_module_xyz" in msg
    assert isinstance(err.value.__cause__, ModuleNotFoundError)


def test_api_major_mismatch_names_both_versions(make_dist, sink_plugin_src) -> None:
    src = sink_plugin_src.replace(
        'plugin_api_version: ClassVar[str] = "2.0"', 'plugin_api_version: ClassVar[str] = "1.3"'
    )
    make_dist("acme", entry_points={SINKS: {"acme": "acme_v:Sink"}}, modules={"acme_v": src})
    with pytest.raises(PluginVersionError, match=r"plugin API 1\.3.*plugin API 2\.1"):
        Registry().load("telemetry_sinks", "acme")


def test_object_not_matching_its_port_is_refused(make_dist, sink_plugin_src) -> None:
    src = sink_plugin_src.replace("    def stop(self): pass\n", "")
    make_dist("acme", entry_points={SINKS: {"acme": "acme_np:Sink"}}, modules={"acme_np": src})
    with pytest.raises(
        PluginError, match="does not implement the TelemetrySink port: missing stop"
    ):
        Registry().load("telemetry_sinks", "acme")


def test_params_model_must_forbid_extra_keys(make_dist, sink_plugin_src) -> None:
    src = sink_plugin_src.replace('extra="forbid", ', "")
    make_dist("acme", entry_points={SINKS: {"acme": "acme_ex:Sink"}}, modules={"acme_ex": src})
    with pytest.raises(PluginError, match="allows unknown keys"):
        Registry().load("telemetry_sinks", "acme")


def test_same_name_from_two_distributions_needs_qualified_name(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme-one",
        entry_points={SINKS: {"twin": "twin_one:Sink"}},
        modules={"twin_one": sink_plugin_src},
    )
    make_dist(
        "acme-two",
        entry_points={SINKS: {"twin": "twin_two:Sink"}},
        modules={"twin_two": sink_plugin_src},
    )
    registry = Registry()
    with pytest.raises(PluginError) as err:
        registry.find("telemetry_sinks", "twin")
    assert "'acme-one:twin' (acme-one 1.0)" in str(err.value)
    assert "'acme-two:twin' (acme-two 1.0)" in str(err.value)
    assert registry.find("telemetry_sinks", "acme-two:twin").dist == "acme-two"
    assert registry.build("telemetry_sinks", "acme-one:twin").params.rate == 0.5


def test_deny_list_disables_by_name_or_qualified_name(make_dist, sink_plugin_src) -> None:
    make_dist(
        "acme",
        entry_points={SINKS: {"acme": "acme_d:Sink", "other": "acme_d:Sink"}},
        modules={"acme_d": sink_plugin_src},
    )
    registry = Registry(environ={"TOWNLET_DISABLE_PLUGINS": "acme, acme:other"})
    assert all(i.disabled for i in registry.infos("telemetry_sinks") if i.dist == "acme")
    with pytest.raises(PluginError, match="disabled by TOWNLET_DISABLE_PLUGINS"):
        registry.find("telemetry_sinks", "other")


def test_trace_logs_resolution_to_stderr(make_dist, sink_plugin_src, capsys) -> None:
    make_dist(
        "acme", entry_points={SINKS: {"acme": "acme_t:Sink"}}, modules={"acme_t": sink_plugin_src}
    )
    Registry(environ={"TOWNLET_TRACE_PLUGINS": "1"}).build("telemetry_sinks", "acme")
    err = capsys.readouterr().err
    assert "found telemetry sink 'acme' -> acme_t:Sink (acme 1.0)" in err
    assert "importing telemetry sink 'acme'" in err
    assert "building telemetry sink 'acme'" in err


def test_example_strategy_resolves_and_runs(with_examples: Path, tmp_path: Path) -> None:
    registry = Registry()
    (info,) = [i for i in registry.infos("training_strategies") if i.name == "my_algo"]
    assert info.dist == "townlet-example-strategy"
    strategy = registry.build("training_strategies", "my_algo", {"iterations": 2, "population": 2})
    config = load_config(overrides=[parse_override("training.rollout_ticks=4")]).config
    with build_context(config, tmp_path / "out", registry=registry) as context:
        strategy.prepare(context)
        result = strategy.run(context)
    assert result.epochs == 2
    assert (tmp_path / "out" / "linear_policy.npz").is_file()


def test_broken_example_fails_alone(with_examples: Path) -> None:
    registry = Registry()
    with pytest.raises(PluginImportError) as err:
        registry.load("training_strategies", "broken_algo")
    assert "townlet-broken-plugin 0.1.0" in str(err.value)
    assert "townlet_dependency_that_is_not_installed" in str(err.value)
    assert registry.load("training_strategies", "my_algo").__name__ == "MyAlgo"
