"""Named, versioned training recipes for `scripts/train.py`: `--recipe multi30k-transformer-small --direction de-en`
instead of a paragraph of flags.

A recipe is a frozen list of train.py flags. Its version is part of its name (`multi30k-transformer-small@v1`); a
recipe that changes gets a new version and the old one stays, so a result reported with a recipe id can be
re-run. `--recipe NAME` without a version takes the newest. Flags given on the command line win over the recipe's.
"""

from dataclasses import dataclass

MULTI30K = "../shared/data/multi30k"
DIRECTIONS = {"de-en": ("de", "en"), "en-de": ("en", "de")}

# What every Multi30k recipe shares: the raw files by path, a joint 8k BPE trained on the training split, validation
# BLEU (greedy) picks the best checkpoint, and test data touches nothing before the final evaluation.
_MULTI30K_COMMON = (
    "--dataset", MULTI30K,
    "--per_device_eval_batch_size", "128",
    "--logging_steps", "100",
)
# Sentences of similar length in a batch (transformers' LengthGroupedSampler): less padding, same sentences per epoch.
_BUCKETED = ("--train_sampling_strategy", "group_by_length")

# What the RNN recipes share: Adam 2e-3 (the family's default schedule), batches of 64, gradients clipped at 1, 10 epochs.
_RNN_TRAINING = (
    "--num_train_epochs", "10", "--learning_rate", "0.002", "--per_device_train_batch_size", "64",
    "--max_grad_norm", "1.0", *_BUCKETED, *_MULTI30K_COMMON,
)

# What the Transformer-small recipes trained to convergence (v2, v3) share: the paper's optimiser and schedule, batches
# of 64 length-bucketed, validation and a checkpoint every 450 updates, every checkpoint kept for averaging.
_TRANSFORMER_SMALL_TO_CONVERGENCE = (
    "--family", "transformer", "--preset", "small", "--warmup_steps", "800", "--learning_rate", "0.5",
    "--per_device_train_batch_size", "64", *_BUCKETED,
    "--eval_strategy", "steps", "--eval_steps", "450", "--save_strategy", "steps", "--save_steps", "450",
    "--save_total_limit", "0", "--early_stopping_patience", "0", *_MULTI30K_COMMON,
)

@dataclass(frozen=True)
class Recipe:
    """One named, versioned set of train.py flags.

    Attributes:
        name: the recipe's name, e.g. "multi30k-transformer-small".
        version: its version; a changed recipe is a new version.
        summary: one line on what it trains and why these settings.
        flags: train.py flags, without the languages (`--direction` adds them).
    """

    name: str
    version: int
    summary: str
    flags: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"


_RECIPES = (
    Recipe(
        "multi30k-transformer-small", 1,
        "Transformer-small (d 256, 3+3 layers, 4 heads, FFN 1024, 7.6M parameters), the paper's optimiser, schedule "
        "(x0.5, 800 warm-up steps) and label smoothing 0.1; 6 epochs of batch 64, length-bucketed.",
        ("--family", "transformer", "--preset", "small", "--num_train_epochs", "6", "--warmup_steps", "800",
         "--learning_rate", "0.5", "--per_device_train_batch_size", "64", *_BUCKETED, *_MULTI30K_COMMON),
    ),
    Recipe(
        "multi30k-transformer-small", 2,
        "Transformer-small trained to convergence: the 30-minute recipe's settings (the paper's optimiser and "
        "schedule, batches of 64 length-bucketed, validation and a checkpoint every 450 updates) without the time "
        "budget, 20 epochs. The best checkpoint on validation is loaded at the end, and every checkpoint is kept (21 of "
        "about 90 MB) for averaging (scripts/average_checkpoints.py), as fairseq keeps its epochs. Its first 2,700 "
        "updates are the 30-minute run's.",
        ("--num_train_epochs", "20", *_TRANSFORMER_SMALL_TO_CONVERGENCE),
    ),
    Recipe(
        "multi30k-transformer-small", 3,
        "v2 with dropout 0.3 (fairseq's IWSLT Transformer) and 30 epochs: v2's validation BLEU peaked at epoch 12 and "
        "then fell while the training loss kept falling, so v3 regularises more and trains longer. Validation and a "
        "checkpoint every 450 updates, every checkpoint kept for averaging.",
        ("--config_overrides", "dropout=0.3", "--num_train_epochs", "30", *_TRANSFORMER_SMALL_TO_CONVERGENCE),
    ),
    Recipe(
        "multi30k-transformer-small-30min", 1,
        "The Transformer-small recipe under a 30-minute wall-time budget (validation included): length-bucketed "
        "batches of 64, validation (greedy BLEU) and a checkpoint every 450 updates (about an epoch), the best kept.",
        ("--family", "transformer", "--preset", "small", "--num_train_epochs", "20", "--warmup_steps", "800",
         "--learning_rate", "0.5", "--per_device_train_batch_size", "64", *_BUCKETED,
         "--eval_strategy", "steps", "--eval_steps", "450", "--save_strategy", "steps", "--save_steps", "450",
         "--max_train_minutes", "30", "--early_stopping_patience", "0", *_MULTI30K_COMMON),
    ),
    Recipe(
        "multi30k-bahdanau-gru", 1,
        "RNNsearch (Bahdanau et al. 2015) at a CPU size: bidirectional GRU encoder, additive attention, maxout deep "
        "output, the paper's GRU and init (the bahdanau2015 preset, hidden 256, embeddings 256); Adam 2e-3.",
        ("--family", "rnn", "--preset", "bahdanau2015", "--config_overrides",
         "hidden_size=256,embedding_size=256,attention_hidden_size=256,readout_size=256,dropout=0.2",
         *_RNN_TRAINING),
    ),
    Recipe(
        "multi30k-luong-lstm", 1,
        "Luong et al. 2015 global attention at a CPU size: 2-layer LSTMs of 256, reversed source, general score, "
        "input feeding, dropout 0.2 (the luong2015 preset, smaller); Adam 2e-3.",
        ("--family", "rnn", "--preset", "luong2015", "--config_overrides",
         "hidden_size=256,embedding_size=256,encoder_layers=2,decoder_layers=2",
         *_RNN_TRAINING),
    ),
    Recipe(
        "multi30k-luong-lstm", 2,
        "v1 with one LSTM layer each side: Luong et al. 2015 global attention (general score, input feeding, reversed "
        "source, uniform ±0.1 init) with 256 units. v1's two stacked layers learned at the pace of the no-attention "
        "recipes (training loss 3.47 at update 800, against 2.82 for one layer at update 900 and RNNsearch's 2.77 at "
        "800), and one layer trains 1.8x faster per update on a CPU.",
        ("--family", "rnn", "--preset", "luong2015", "--config_overrides",
         "hidden_size=256,embedding_size=256,encoder_layers=1,decoder_layers=1",
         *_RNN_TRAINING),
    ),
    Recipe(
        "multi30k-cho-gru", 1,
        "The context-vector encoder-decoder of Cho et al. 2014 at a CPU size: GRU 512, c = tanh(V h_N) read by every "
        "decoder step and the maxout output (the cho2014 preset, smaller); Adam 2e-3.",
        ("--family", "rnn", "--preset", "cho2014", "--config_overrides",
         "hidden_size=512,embedding_size=256,readout_size=256,dropout=0.2",
         *_RNN_TRAINING),
    ),
    Recipe(
        "multi30k-sutskever-lstm", 1,
        "The context-vector LSTM of Sutskever et al. 2014 at a CPU size: 2-layer LSTMs of 512, source reversed, the "
        "decoder starts from the encoder's final states and reads nothing else (the sutskever2014 preset, smaller).",
        ("--family", "rnn", "--preset", "sutskever2014", "--config_overrides",
         "hidden_size=512,embedding_size=256,encoder_layers=2,decoder_layers=2,dropout=0.2",
         *_RNN_TRAINING),
    ),
)
RECIPES: dict[str, Recipe] = {recipe.id: recipe for recipe in _RECIPES}


def get_recipe(spec: str) -> Recipe:
    """The recipe `spec` names: "NAME@vN" for that version, "NAME" for the newest.

    Raises:
        ValueError: naming the recipes there are, when `spec` is not one of them.
    """
    name, _, version = spec.partition("@")
    versions = sorted((r for r in _RECIPES if r.name == name), key=lambda r: r.version)
    if versions and not version:
        return versions[-1]
    if spec in RECIPES:
        return RECIPES[spec]
    known = ", ".join(RECIPES)
    if versions:
        raise ValueError(f"Recipe {name!r} has no version {version!r}; it has "
                         f"{', '.join(r.id for r in versions)}. Known recipes: {known}.")
    raise ValueError(f"Unknown recipe {spec!r}; known recipes: {known} (the version may be left out).")


def recipe_flags(spec: str, direction: str) -> list[str]:
    """train.py flags of the recipe `spec` for a translation `direction` ("de-en" or "en-de"): the recipe's, then
    the languages and the output folder runs/<name>-<direction>."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r} is not one of {', '.join(DIRECTIONS)}; pass e.g. --direction de-en.")
    recipe = get_recipe(spec)
    source, target = DIRECTIONS[direction]
    return [*recipe.flags, "--source_lang", source, "--target_lang", target,
            "--output_dir", f"runs/{recipe.name}-{direction}"]


__all__ = ["DIRECTIONS", "RECIPES", "Recipe", "get_recipe", "recipe_flags"]
