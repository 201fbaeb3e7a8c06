"""Config loading: extends, overrides, and errors that name file, key and value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from townlet.core._validation import format_validation_error
from townlet.core.config import check_plugins, load_config, parse_override
from townlet.core.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_builtin_default_loads() -> None:
    loaded = load_config()
    assert loaded.config.config_id == "default"
    assert loaded.files[0].name == "default.yaml"


def test_extends_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    base = write(
        tmp_path / "base.yaml",
        (
            "extends: builtin:default\nconfig_id: base\nseed: 1\n"
            "features: {stages: {relationships: A}, lifecycle: true}\n"
            "telemetry: {sinks: [{name: a}, {name: b}]}\n"
        ),
    )
    (tmp_path / "sub").mkdir()
    child = write(
        tmp_path / "sub" / "child.yaml",
        (
            "extends: ../base.yaml\nconfig_id: child\n"
            "features: {stages: {social_rewards: C1}}\n"
            "telemetry: {sinks: [{name: c}]}\n"
        ),
    )
    loaded = load_config(child)
    cfg = loaded.config
    assert cfg.config_id == "child" and cfg.seed == 1
    assert cfg.features.stages.relationships == "A"
    assert cfg.features.stages.social_rewards == "C1"
    assert cfg.features.lifecycle is True
    assert [s.name for s in cfg.telemetry.sinks] == ["c"]
    assert loaded.files[1:] == (base.resolve(), child.resolve())
    assert loaded.locate(("seed",)) == f"{base.resolve()}:3"
    assert loaded.locate(("telemetry", "sinks", 0, "name")) == f"{child.resolve()}:4"


def test_extends_builtin(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path / "c.yaml", "extends: builtin:default\nseed: 9\n")).config
    assert (cfg.config_id, cfg.seed) == ("default", 9)


def test_type_error_names_file_line_key_and_value(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.yaml", "config_id: x\nfeatures:\n  stages:\n    relationships: Z\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert f"{path.resolve()}:4: features.stages.relationships:" in msg
    assert "(got 'Z')" in msg


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "config_id: x\nsede: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2: sede: Extra inputs are not permitted"):
        load_config(path)


def test_misspelt_top_level_key_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "config_id: x\ntrainig: {strategy: null}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (
        f"{path.resolve()}:2: trainig: Extra inputs are not permitted "
        "(got {'strategy': None}). Did you mean 'training'?"
    ) in str(err.value)


def test_misspelt_nested_key_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "extends: builtin:default\nworld:\n  agnets: 5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (
        f"{path.resolve()}:3: world.agnets: Extra inputs are not permitted (got 5). "
        "Did you mean 'world.agents'?"
    ) in str(err.value)
    with pytest.raises(ConfigError, match=r"rewards\.stages\[0\]\.params'\?"):
        load_config(overrides=[parse_override("rewards.stages=[{name: clip, parms: {}}]")])
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[parse_override("world.queues.ghost_step_afer=3")])
    assert (
        "--set world.queues.ghost_step_afer=3: world.queues.ghost_step_afer: Extra inputs are "
        "not permitted (got 3). Did you mean 'world.queues.ghost_step_after'?"
    ) in str(err.value)


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "config_id: x\nwibble: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert f"{path.resolve()}:2: wibble: Extra inputs are not permitted (got 3). " in msg
    assert "Did you mean" not in msg
    assert "Valid keys at the top level: config_id, seed, world, features," in msg
    with pytest.raises(ConfigError, match=r"Valid keys of features\.stages: relationships, social"):
        load_config(overrides=[parse_override("features.stages.zzz=1")])


def test_misspelt_plugin_param_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "extends: builtin:default\npolicy:\n  name: scripted\n  params:\n    treshold: 0.5\n",
    )
    (problem,) = check_plugins(load_config(path))
    assert problem.startswith(f"{path.resolve()}:3: policy.name = 'scripted': Invalid params")
    assert (
        f"{path.resolve()}:5: policy.params.treshold: Extra inputs are not permitted (got 0.5). "
        "Did you mean 'policy.params.threshold'?"
    ) in problem


class _Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    colour: str = "red"


class _Bare(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Tree(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leaf: _Leaf | None = None
    leaves: list[_Leaf] = []
    named: dict[str, _Leaf] = {}
    empty: dict[str, _Bare] = {}


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ({"leef": {}}, "Did you mean 'leaf'?"),
        ({"leaf": {"color": "b"}}, "Did you mean 'leaf.colour'?"),
        ({"leaves": [{}, {"color": "b"}]}, "Did you mean 'leaves[1].colour'?"),
        ({"named": {"x": {"color": "b"}}}, "Did you mean 'named.x.colour'?"),
        ({"leaf": {"zzz": 1}}, "Valid keys of leaf: colour."),
        ({"empty": {"x": {"zzz": 1}}}, "There are no keys of empty.x."),
    ],
)
def test_unknown_key_hints_follow_nested_models(data: dict[str, Any], hint: str) -> None:
    with pytest.raises(ValidationError) as err:
        _Tree.model_validate(data)
    assert format_validation_error(err.value, model=_Tree).endswith(hint)
    assert "Did you mean" not in format_validation_error(err.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "config_id: x\nseed: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config(path)


def test_missing_file_and_cycle(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    write(tmp_path / "a.yaml", "extends: b.yaml\nconfig_id: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nconfig_id: b\n")
    with pytest.raises(ConfigError, match="'extends' forms a cycle"):
        load_config(tmp_path / "a.yaml")


def test_non_mapping_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path / "l.yaml", "- 1\n- 2\n"))


def test_overrides_apply_and_are_located() -> None:
    loaded = load_config(
        overrides=[
            parse_override("seed=5"),
            parse_override("telemetry.sinks=[{name: x}]"),
            parse_override("telemetry.sinks.0.params.rate=0.5"),
        ]
    )
    assert loaded.config.seed == 5
    assert loaded.config.telemetry.sinks[0].params == {"rate": 0.5}
    with pytest.raises(ConfigError, match=r"--set seed=-1: seed: Input should be greater than"):
        load_config(overrides=[parse_override("seed=-1")])


@pytest.mark.parametrize("text", ["seed", "=3", "seed=[1,"])
def test_malformed_override_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--set"):
        parse_override(text)


@given(st.text(max_size=40))
def test_any_override_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        ov = parse_override(text)
    except ConfigError:
        return
    try:
        loaded = load_config(overrides=[ov])
    except ConfigError as exc:
        message = str(exc)
    else:
        message = loaded.config.config_id
    assert message


def test_docs_config_reference_is_current() -> None:
    from townlet.core.config.reference import reference_markdown

    docs = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    table = docs.split("<!-- BEGIN generated: townlet config reference -->\n")[1]
    table = table.split("<!-- END generated -->")[0]
    assert table == reference_markdown(), "regenerate with: townlet config reference"


_BUILTIN = Path(__file__).parents[1] / "townlet-core/src/townlet/core/data"


def _world_config(tmp_path: Path, manifest: str | None, town: str | None = None) -> Path:
    """A config extending the default with its own manifest (and town file) text."""
    lines = ["extends: builtin:default", "world:"]
    if manifest is not None:
        write(tmp_path / "aff.yaml", manifest)
    lines.append("  affordances: aff.yaml")
    if town is not None:
        write(tmp_path / "town.yaml", town)
        lines.append("  town: town.yaml")
    return write(tmp_path / "cfg.yaml", "\n".join(lines) + "\n")


_DEFAULT_MANIFEST = (_BUILTIN / "affordances/default.yaml").read_text()
_SHOWER = 'preconds: "water_on and agent.money >= 0.2"'


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "aff.yaml"),
        ("affordances: 3\n", "a manifest is a mapping with an 'affordances' list"),
        (_DEFAULT_MANIFEST.replace("duration: 30", "duration: -1"), "aff.yaml:10: affordance"),
        (_DEFAULT_MANIFEST.replace(_SHOWER, 'preconds: "1 / 0 > 0"'), "division by zero"),
        (
            _DEFAULT_MANIFEST.replace(_SHOWER, f'preconds: "{"(" * 200}1{")" * 200}"'),
            "aff.yaml:10: affordance 'shower': preconds '((((",
        ),
    ],
    ids=["missing", "not-a-manifest", "schema", "division", "nesting"],
)
def test_validate_checks_the_affordance_manifest(
    tmp_path: Path, cli: Any, manifest: str | None, message: str
) -> None:
    result = cli("validate", str(_world_config(tmp_path, manifest)))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_checks_the_town_file_and_lists_every_problem(tmp_path: Path, cli: Any) -> None:
    town = (_BUILTIN / "towns/default.yaml").read_text() + "bogus_key: 1\n"
    cfg = _world_config(tmp_path, "affordances: 3\n", town)
    result = cli("validate", str(cfg))
    assert result.returncode == 2, result.stderr
    assert "town.yaml" in result.stderr and "bogus_key" in result.stderr
    assert "a manifest is a mapping" in result.stderr


def test_validate_accepts_a_copied_manifest(tmp_path: Path, cli: Any) -> None:
    result = cli("validate", str(_world_config(tmp_path, _DEFAULT_MANIFEST)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: default")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--strategy", "ppoo"), "Unknown training strategy 'ppoo'. Did you mean 'ppo'?"),
        (("--encoder", "fulll"), "Unknown observation encoder 'fulll'. Did you mean 'full'?"),
        (("--set", "observations.params.window=4"), "window must be odd"),
        (("--set", "world.affordances=missing.yaml"), "missing.yaml"),
    ],
    ids=["strategy", "encoder", "default-encoder-params", "manifest"],
)
def test_run_refuses_what_validate_refuses(cli: Any, args: tuple[str, ...], message: str) -> None:
    validate = cli("validate", *args)
    run = cli("run", "--ticks", "1", *args)
    assert (validate.returncode, run.returncode) == (2, 2), run.stderr
    assert message in validate.stderr and message in run.stderr
    assert validate.stderr == run.stderr


# -- hostile and careless config files, through `townlet validate` ------------------


def _validate(*args: str) -> Any:
    from click.testing import CliRunner

    from townlet.core.cli import townlet

    return CliRunner().invoke(townlet, ["validate", *args])


def _refused(result: Any, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the config file is empty"),
        (b"# only a comment\n", "the config file is empty"),
        (
            b"extends: builtin:default\nseed: 1\nseed: 2\n",
            ":3: duplicate key 'seed' (first at line 2)",
        ),
        (
            b"extends: builtin:default\nworld:\n  agents: 4\n  agents: 5\n",
            ":4: duplicate key 'agents'",
        ),
        (b"extends: builtin:default\nconfig_id: caf\xe9\n", ":2: not UTF-8 text (byte 0xe9)"),
        (b"x: " + b"[" * 3000 + b"]" * 3000 + b"\n", ":1: nested more than 100 levels deep"),
    ],
    ids=["empty", "comment", "duplicate", "nested-duplicate", "latin-1", "deep"],
)
def test_a_bad_config_file_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    _refused(_validate(str(path)), message)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, cli: Any) -> None:
    """~500 bytes whose aliases expand to 9**9 values: refused before anything expands
    them (a subprocess with a timeout, so a regression fails instead of hanging)."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    result = cli("validate", str(path), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "expands to more than 1,000,000 values" in result.stderr


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory"])
def test_a_config_path_that_is_not_a_file_is_refused(tmp_path: Path, cli: Any, kind: str) -> None:
    import os

    if kind == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)  # nobody writes to it: reading would block forever
    elif kind == "directory":
        path = tmp_path
    else:
        path = Path(kind)
    result = cli("validate", str(path), timeout=60)
    assert result.returncode == 2, result.stderr
    expected = "is a directory" if kind == "directory" else "not a regular file"
    assert f"{path}: {expected}" in result.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("world.economy.prices.meal=.nan", "prices.meal: Input should be a finite number"),
        ("world.economy.prices.meal=.inf", "prices.meal: Input should be a finite number"),
        ("world.economy.prices.meal=1.0e+300", "price of meal must be > 0 and <= 1,000,000"),
        ("world.economy.rent=1.0e+300", "rent: Input should be less than or equal to 1000000"),
        ("world.economy.starting_money=1.0e+300", "starting_money: Input should be less"),
        ("world.perturbations.price_spike.min_ticks=500", "min_ticks (500) must not exceed"),
    ],
)  # fmt: skip
def test_numbers_that_would_break_the_run_are_refused(setting: str, message: str) -> None:
    result = _validate("--set", setting)
    _refused(result, f"--set {setting}: ")
    assert message in result.output


# -- --set errors name the option -------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("world.agents.x=1", "--set world.agents.x=1: world.agents is 8, which has no key 'x'"),
        ("foo.bar=1", "--set foo.bar=1: foo: Extra inputs are not permitted"),
        ("world..agents=1", "--set 'world..agents=1': empty key in 'world..agents'"),
        ("rewards.stages.-1.name=x", "'rewards.stages.-1.name=x': list index -1: indexes count"),
    ],
)  # fmt: skip
def test_set_errors_name_the_option_not_the_default_config(setting: str, message: str) -> None:
    result = _validate("--set", setting)
    _refused(result, message)
    assert "default.yaml" not in result.output


def test_a_validator_message_shows_the_value_once() -> None:
    result = _validate("--set", "observations.params.window=4")
    assert result.exit_code == 2
    assert "window must be odd (got 4)" in result.output
    assert "(got 4) (got 4)" not in result.output


@pytest.mark.parametrize("kind", ["fifo", "deep", "duplicate", "empty"])
def test_baselines_and_curricula_get_the_config_files_defences(tmp_path: Path, kind: str) -> None:
    """The other YAML files a run reads are refused the same way, named as what they are."""
    import os

    from townlet.core._validation import read_yaml_model
    from townlet.core.errors import ConfigError
    from townlet.core.scenario.baselines import Baseline

    path = tmp_path / "b.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # reading would block forever
    else:
        path.write_text(
            {"deep": "x: " + "[" * 3000 + "]" * 3000, "duplicate": "a: 1\na: 2", "empty": ""}[kind]
        )
    expected = {
        "fifo": f"{path}: not a regular file",
        "deep": f"{path}:1: nested more than 100 levels deep",
        "duplicate": f"{path}:2: duplicate key 'a'",
        "empty": f"{path}: the baseline file is empty",
    }[kind]
    with pytest.raises(ConfigError, match=re.escape(expected)):
        read_yaml_model(path, Baseline, "baseline", ConfigError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[" * 3000 + "]" * 3000, "--set seed: nested more than 100 levels deep"),
        ("{meal: 1, meal: 2}", "--set seed: duplicate key 'meal'"),
        ("[1,", "--set seed: invalid YAML: expected the node content"),
    ],
    ids=["deep", "duplicate", "unclosed"],
)
def test_a_set_value_gets_the_config_files_checks(value: str, message: str) -> None:
    _refused(_validate("--set", f"seed={value}"), message)


@pytest.mark.parametrize("key", ["town", "affordances"])
@pytest.mark.parametrize("kind", ["fifo", "deep", "duplicate"])
def test_town_and_manifest_files_get_the_config_files_defences(
    tmp_path: Path, cli: Any, key: str, kind: str
) -> None:
    """A town file or affordance manifest named by the config is read as defensively as
    the config itself: a FIFO never blocks, deep nesting and duplicate keys are one error."""
    import os

    path = tmp_path / f"{key}.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes to it: reading would block forever
    else:
        path.write_text({"deep": "x: " + "[" * 3000 + "]" * 3000, "duplicate": "a: 1\na: 2"}[kind])
    expected = {
        "fifo": f"{path}: not a regular file",
        "deep": f"{path}:1: nested more than 100 levels deep",
        "duplicate": f"{path}:2: duplicate key 'a'",
    }[kind]
    result = cli("validate", "--set", f"world.{key}={path}", timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
