"""The named, versioned recipes of training/recipe_book.py and train.py's --recipe / --direction: what a recipe sets,
that the command line wins over it, clear errors for unknown names, versions and directions, and a recipe run end
to end on a slice of Multi30k."""

import json
from pathlib import Path

import pytest

from hf_attention_zoo.registry import get_family
from hf_attention_zoo.training.model_arguments import parse_config_overrides
from hf_attention_zoo.training.recipe_book import DIRECTIONS, RECIPES, get_recipe, recipe_flags
from tests.support.scripts import load_script

MULTI30K_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multi30k"


def flag_values(recipe_id: str) -> dict[str, str]:
    """A recipe's flags as {"--flag": "value"} (every recipe flag takes one value)."""
    flags = RECIPES[recipe_id].flags
    return dict(zip(flags[::2], flags[1::2]))


def test_every_recipe_names_a_family_and_preset_and_overrides_the_preset_knows():
    assert len(RECIPES) >= 6
    for recipe_id, recipe in RECIPES.items():
        assert recipe_id == f"{recipe.name}@v{recipe.version}"
        flags = flag_values(recipe_id)
        family = get_family(flags["--family"])
        preset = family.presets[flags["--preset"]]
        # a config with the overrides builds and keeps them (an unknown field or a bad value raises here)
        overrides = parse_config_overrides(flags.get("--config_overrides", ""))
        config = family.config_class(**{**preset, **overrides})
        assert all(getattr(config, name) == value for name, value in overrides.items())
        assert flags["--dataset"] == "../shared/data/multi30k"
        assert "--source_lang" not in flags and "--target_lang" not in flags  # --direction sets them


def test_the_recipes_cover_every_family_the_issue_names():
    presets = {flag_values(recipe_id)["--preset"] for recipe_id in RECIPES}
    assert {"small", "bahdanau2015", "luong2015", "cho2014", "sutskever2014"} <= presets


def test_a_bare_name_takes_the_newest_version_and_bad_names_say_what_exists():
    assert get_recipe("multi30k-transformer-small") is RECIPES["multi30k-transformer-small@v3"]
    assert get_recipe("multi30k-transformer-small@v1").id == "multi30k-transformer-small@v1"
    # a changed recipe is a new version; the old one stays runnable
    assert get_recipe("multi30k-luong-lstm").id == "multi30k-luong-lstm@v2"
    assert "encoder_layers=2" in " ".join(get_recipe("multi30k-luong-lstm@v1").flags)
    with pytest.raises(ValueError, match=r"has no version 'v9'; it has multi30k-transformer-small@v1, multi30k-transformer-small@v2, multi30k-transformer-small@v3\."):
        get_recipe("multi30k-transformer-small@v9")
    with pytest.raises(ValueError, match=r"Unknown recipe 'wmt14'; known recipes: .*multi30k-bahdanau-gru@v1"):
        get_recipe("wmt14")
    with pytest.raises(ValueError, match=r"direction='fr-en' is not one of de-en, en-de"):
        recipe_flags("multi30k-bahdanau-gru", "fr-en")


def test_the_converged_transformer_recipe_is_the_30_minute_one_without_its_budget():
    """multi30k-transformer-small@v2's first updates are the 30-minute run's (the README resumes that run's checkpoint
    to finish v2), so the two may differ only in the budget and in how many checkpoints are kept."""
    def training_flags(recipe_id):
        return {name: value for name, value in flag_values(recipe_id).items()
                if name not in {"--max_train_minutes", "--save_total_limit"}}

    assert training_flags("multi30k-transformer-small@v2") == training_flags("multi30k-transformer-small-30min@v1")
    assert "--max_train_minutes" not in RECIPES["multi30k-transformer-small@v2"].flags
    assert flag_values("multi30k-transformer-small@v2")["--save_total_limit"] == "0"  # every checkpoint stays, for averaging windows chosen on validation


def test_v3_is_v2_with_more_dropout_and_more_epochs():
    """v3 changes only the regularisation and the length of training: a v2/v3 comparison measures those two."""
    def other_flags(recipe_id):
        return {name: value for name, value in flag_values(recipe_id).items()
                if name not in {"--config_overrides", "--num_train_epochs"}}

    assert other_flags("multi30k-transformer-small@v3") == other_flags("multi30k-transformer-small@v2")
    v3 = flag_values("multi30k-transformer-small@v3")
    assert parse_config_overrides(v3["--config_overrides"]) == {"dropout": 0.3}
    assert v3["--num_train_epochs"] == "30" and "--config_overrides" not in flag_values("multi30k-transformer-small@v2")


@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
def test_train_script_applies_the_recipe_and_the_command_line_wins(direction):
    parse_arguments = load_script("train").parse_arguments
    model_args, data_args, run_args, training_args = parse_arguments(
        ["--recipe", "multi30k-transformer-small", "--direction", direction, "--num_train_epochs", "1"])
    source, target = DIRECTIONS[direction]
    assert (data_args.source_lang, data_args.target_lang) == (source, target)
    assert model_args.family == "transformer" and model_args.preset == "small"
    assert run_args.recipe == "multi30k-transformer-small@v3"  # the version a bare name resolved to
    assert training_args.num_train_epochs == 1  # given on the command line: wins over the recipe's 20
    assert training_args.warmup_steps == 800 and training_args.learning_rate == 0.5  # the recipe's, not the family's
    assert training_args.train_sampling_strategy == "group_by_length"
    assert training_args.output_dir.endswith(f"runs/multi30k-transformer-small-{direction}")


def test_train_script_rejects_a_recipe_without_direction_and_a_direction_without_recipe():
    parse_arguments = load_script("train").parse_arguments
    with pytest.raises(ValueError, match="--recipe multi30k-cho-gru needs --direction, one of de-en, en-de"):
        parse_arguments(["--recipe", "multi30k-cho-gru"])
    with pytest.raises(ValueError, match="--direction goes with --recipe"):
        parse_arguments(["--direction", "de-en"])


def test_train_script_rejects_early_stopping_without_validation():
    with pytest.raises(ValueError, match="pass --early_stopping_patience 0 as well"):
        load_script("train").parse_arguments(["--eval_strategy", "no", "--load_best_model_at_end", "false"])


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_recipe_trains_end_to_end_on_a_slice_of_multi30k(tmp_path, recipe):
    if not (MULTI30K_DIR / "train.de.gz").is_file():
        pytest.skip(f"Multi30k is not at {MULTI30K_DIR} (the shared data folder next to the repository)")
    summary = load_script("train").main([
        "--recipe", recipe, "--direction", "de-en", "--dataset", str(MULTI30K_DIR), "--output_dir", str(tmp_path),
        "--max_train_samples", "256", "--max_eval_samples", "8", "--vocab_size", "500", "--max_steps", "4",
        "--per_device_train_batch_size", "16", "--eval_strategy", "steps", "--eval_steps", "2", "--save_strategy", "steps", "--save_steps", "2",
        "--max_target_length", "16", "--num_samples", "0", "--config_overrides",
        "d_model=32,encoder_ffn_dim=32,decoder_ffn_dim=32" if "transformer" in recipe else "hidden_size=32,embedding_size=32",
    ])
    assert summary["recipe"] == recipe and summary["steps"] == 4
    assert summary["target_tokens_per_second"] > 0 and set(summary["results"]) == {"validation", "test"}
    card = (tmp_path / "README.md").read_text()
    assert f"| recipe | {recipe} |" in card and "target tokens/s (validation included)" in card
    assert "| machine | " in card
    assert json.loads((tmp_path / "train_summary.json").read_text())["recipe"] == recipe


def test_the_readmes_recipe_commands_parse():
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    commands = re.findall(r"python scripts/train\.py (--recipe [^\n#]*)", readme)
    assert len(commands) >= 2
    parse_arguments = load_script("train").parse_arguments
    for command in commands:
        _, _, run_args, _ = parse_arguments(shlex.split(command.replace("\\\n", " ")))
        assert run_args.recipe in RECIPES
