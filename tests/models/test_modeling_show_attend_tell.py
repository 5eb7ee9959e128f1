"""The captioner (hf_attention_zoo.models.modeling_show_attend_tell and its building blocks): attention over the
grid, the doubly stochastic regulariser against its formula, SAGAN's identity start, the no-attention baseline, a
transformers backbone, the Auto classes, the processor, and clear errors for bad images, ids and configs. The shared
equivalences (cache, batch = rows, one beam = greedy, beam scores, save/load, remote code) run for this family in
tests/models/test_equivalences.py."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers import (
    AutoBackbone,
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageTextToText,
    AutoProcessor,
    ResNetConfig,
)

from hf_attention_zoo import ShowAttendTellConfig, ShowAttendTellForConditionalGeneration, ShowAttendTellModel
from hf_attention_zoo.data.captioning import CaptioningCollator, build_caption_processor
from hf_attention_zoo.data.synthetic_shapes import make_shapes_dataset, train_caption_tokenizer
from hf_attention_zoo.models.feature_map_attention import FeatureMapSelfAttention
from hf_attention_zoo.models.modeling_show_attend_tell import doubly_stochastic_penalty
from support.captioner_fixtures import image_batch, tiny_config, tiny_model


def labels_with_padding() -> torch.Tensor:
    labels = torch.randint(3, 29, (3, 6), generator=torch.Generator().manual_seed(2))
    labels[:, -1] = 2
    labels[1, 4:] = -100  # a shorter caption: its last steps are padding
    labels[2, 3:] = -100
    return labels


def test_attention_weights_sum_to_one_over_the_grid_and_follow_the_decoder_state():
    model = tiny_model()
    out = model(pixel_values=image_batch(), decoder_input_ids=torch.randint(3, 29, (3, 5)), output_attentions=True)
    (weights,) = out.cross_attentions
    grid = model.config.feature_grid_size
    assert weights.shape == (3, 1, 5, grid * grid)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(3, 1, 5))
    assert not torch.allclose(weights[:, :, 0], weights[:, :, 1])  # it moves from word to word


def test_the_doubly_stochastic_penalty_equals_its_formula_on_a_constructed_alpha():
    # two captions of 3 steps over L = 2 positions; the second caption's last step is padding
    alpha = torch.tensor([[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]],
                          [[0.2, 0.8], [0.2, 0.8], [0.9, 0.1]]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    # caption 1: Σ_t α = (1.5, 1.5) -> (1 - 1.5)² · 2 = 0.5; caption 2: (0.4, 1.6) -> 0.36 + 0.36 = 0.72
    torch.testing.assert_close(doubly_stochastic_penalty(alpha, mask), torch.tensor([0.5, 0.72]))
    torch.testing.assert_close(doubly_stochastic_penalty(alpha), torch.tensor([0.5, 0.09 + 0.49]))  # (1.3, 1.7)


def test_the_loss_is_cross_entropy_plus_lambda_times_the_penalty_per_label_token():
    pixels, labels = image_batch(), labels_with_padding()
    plain = tiny_model(doubly_stochastic_weight=0.0)
    regularised = tiny_model(doubly_stochastic_weight=0.7)
    with torch.no_grad():
        out = regularised(pixel_values=pixels, labels=labels, output_attentions=True)
        cross_entropy = plain(pixel_values=pixels, labels=labels).loss
    step_mask = labels != -100
    penalty = doubly_stochastic_penalty(out.cross_attentions[0][:, 0], step_mask).sum()
    torch.testing.assert_close(out.loss, cross_entropy + 0.7 * penalty / step_mask.sum())
    # padded steps do not count: the same attention counted everywhere gives another value
    assert not torch.allclose(penalty, doubly_stochastic_penalty(out.cross_attentions[0][:, 0]).sum())
    # Trainer's num_items_in_batch divides both terms
    with torch.no_grad():
        scaled = regularised(pixel_values=pixels, labels=labels, num_items_in_batch=torch.tensor(40)).loss
    torch.testing.assert_close(scaled, out.loss * step_mask.sum() / 40)


def test_sagan_with_gamma_zero_is_the_identity_and_its_maps_are_distributions():
    torch.manual_seed(0)
    block = FeatureMapSelfAttention(16)
    feature_map = torch.randn(2, 16, 4, 5)
    assert block.query.out_channels == block.key.out_channels == block.value.out_channels == 2  # C/8
    output, attention = block(feature_map)
    assert torch.equal(output, feature_map)
    assert attention.shape == (2, 20, 20)
    torch.testing.assert_close(attention.sum(dim=-1), torch.ones(2, 20))
    with torch.no_grad():
        block.gamma.fill_(0.5)
    assert not torch.allclose(block(feature_map)[0], feature_map)


def test_a_new_model_starts_with_gamma_zero_and_returns_the_sagan_maps():
    model = ShowAttendTellForConditionalGeneration(tiny_config(feature_self_attention=True)).eval()
    assert model.model.encoder.self_attention.gamma.item() == 0.0
    out = model.get_encoder()(image_batch(), output_attentions=True)
    length = model.config.feature_grid_size ** 2
    assert out.attentions[0].shape == (3, 1, length, length)
    without = tiny_model()  # no SAGAN block: no encoder attentions
    assert without.get_encoder()(image_batch(), output_attentions=True).attentions is None


def test_the_baseline_reads_the_mean_annotation_and_has_no_attention():
    model = tiny_model(attention_type="none", doubly_stochastic_weight=0.0)
    assert model.model.decoder.attention is None and model.model.decoder.gate is None
    ids = torch.randint(3, 29, (3, 4))
    out = model(pixel_values=image_batch(), decoder_input_ids=ids, output_attentions=True)
    assert out.cross_attentions is None
    other = model(pixel_values=image_batch(seed=5), decoder_input_ids=ids)
    assert not torch.allclose(out.logits, other.logits)  # the image still matters, through the mean annotation
    with pytest.raises(StrictDataclassError, match="attention_type='none' has none"):
        tiny_config(attention_type="none", doubly_stochastic_weight=0.5)


def test_grid_coordinates_append_each_cells_centre_to_its_annotation():
    plain, located = tiny_model(), tiny_model(grid_coordinates=True)
    annotations = located.get_encoder()(image_batch()).last_hidden_state
    grid = located.config.feature_grid_size  # 4: cells centred at -0.75, -0.25, 0.25, 0.75
    assert annotations.shape == (3, grid * grid, plain.get_encoder().annotation_size + 2)
    torch.testing.assert_close(annotations[0, :, -2:].reshape(grid, grid, 2)[1, 2], torch.tensor([0.25, -0.25]))
    features = located.get_encoder().feature_map(image_batch()).flatten(2).transpose(1, 2)
    torch.testing.assert_close(annotations[:, :, :-2], features)


def test_the_gating_scalar_can_be_switched_off():
    assert tiny_model().model.decoder.gate is not None
    assert tiny_model(gating_scalar=False).model.decoder.gate is None


def test_a_transformers_resnet_backbone_encodes_and_loads_pretrained_weights_from_a_folder(tmp_path):
    backbone_config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                   out_features=["stage2"])
    config = tiny_config(image_size=32, backbone_config=backbone_config)
    assert isinstance(config.backbone_config, dict) and config.backbone_config["model_type"] == "resnet"
    model = ShowAttendTellForConditionalGeneration(config).eval()
    pixels = image_batch(size=32)
    annotations = model.get_encoder()(pixels).last_hidden_state
    assert annotations.shape == (3, 16, 16)  # 32 px / stride 8 (the stem's 4, stage 2's 2) = a 4 × 4 grid, D = 16
    sequences = model.generate(pixel_values=pixels, num_beams=2, max_new_tokens=4)
    model.save_pretrained(tmp_path / "captioner")
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path / "captioner").eval()
    assert torch.equal(loaded.generate(pixel_values=pixels, num_beams=2, max_new_tokens=4), sequences)

    torch.manual_seed(3)
    pretrained = AutoBackbone.from_config(config.build_backbone_config())
    pretrained.save_pretrained(tmp_path / "backbone")
    model.load_backbone_weights(tmp_path / "backbone")
    for name, tensor in pretrained.state_dict().items():
        assert torch.equal(model.model.encoder.backbone.state_dict()[name], tensor), name
    with pytest.raises(ValueError, match="small CNN, not a backbone"):
        tiny_model().load_backbone_weights(tmp_path / "backbone")


def test_auto_classes_build_the_family():
    fields = {k: v for k, v in tiny_config().to_diff_dict().items() if k != "model_type"}
    config = AutoConfig.for_model("zoo_show_attend_tell", **fields)
    assert isinstance(config, ShowAttendTellConfig)
    assert type(AutoModel.from_config(config)) is ShowAttendTellModel
    assert type(AutoModelForImageTextToText.from_config(config)) is ShowAttendTellForConditionalGeneration
    assert ShowAttendTellForConditionalGeneration.main_input_name == "pixel_values"


def test_sampling_is_reproducible_with_a_seed_and_differs_from_greedy():
    model = tiny_model()
    torch.manual_seed(0)
    first = model.generate(pixel_values=image_batch(), do_sample=True, max_new_tokens=6)
    torch.manual_seed(0)
    assert torch.equal(first, model.generate(pixel_values=image_batch(), do_sample=True, max_new_tokens=6))
    assert not torch.equal(first, model.generate(pixel_values=image_batch(), max_new_tokens=6))


def test_resizing_the_vocabulary_resizes_the_embeddings_and_the_output_layer():
    model = tiny_model()
    model.resize_token_embeddings(40)
    assert model.model.decoder.embed_tokens.num_embeddings == 40 and model.lm_head.out_features == 40
    assert model.config.vocab_size == 40
    assert model.generate(pixel_values=image_batch(), max_new_tokens=3).shape[0] == 3


def test_the_processor_saves_with_the_model_and_loads_through_the_auto_classes(tmp_path):
    dataset = make_shapes_dataset(seed=0, num_train=20, num_validation=2, num_test=2)
    processor = build_caption_processor(train_caption_tokenizer(dataset), image_size=64)
    processor.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    images, captions = dataset["train"]["image"][:4], dataset["train"]["caption"][:4]
    batch = CaptioningCollator(processor)([{"image": i, "caption": c} for i, c in zip(images, captions)])
    assert batch["pixel_values"].shape == (4, 3, 64, 64)
    assert batch["pixel_values"].min() >= -1 and batch["pixel_values"].max() <= 1
    assert torch.equal(loaded(images=images, return_tensors="pt")["pixel_values"], batch["pixel_values"])
    assert torch.equal(AutoImageProcessor.from_pretrained(tmp_path)(images, return_tensors="pt")["pixel_values"],
                       batch["pixel_values"])
    labels = batch["labels"]
    assert (labels == -100).any() and not (labels == processor.tokenizer.pad_token_id).any()
    decoded = loaded.batch_decode(labels.masked_fill(labels == -100, 1), skip_special_tokens=True)
    assert decoded == captions
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        CaptioningCollator(processor)([{"pixel_values": 0}])


@pytest.mark.parametrize(("pixel_values", "error", "message"), [
    (torch.randn(2, 1, 16, 16), ValueError, "1 channels but the model reads 3"),
    (torch.randint(0, 255, (2, 3, 16, 16)), TypeError, "must be floating point"),
    (torch.full((2, 3, 16, 16), float("nan")), ValueError, "NaN"),
    (torch.randn(3, 16, 16), ValueError, r"\(batch, channels, height, width\), got \(3, 16, 16\)"),
])
def test_bad_images_are_clear_errors(pixel_values, error, message):
    with pytest.raises(error, match=message):
        tiny_model()(pixel_values=pixel_values, decoder_input_ids=torch.zeros(2, 1, dtype=torch.long))


def test_bad_caption_ids_and_missing_inputs_are_clear_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"decoder_input_ids holds ids in \[0, 29\] but the model's vocabulary is \[0, 29\)"):
        model(pixel_values=image_batch(), decoder_input_ids=torch.tensor([[0, 29], [0, 1], [0, 2]]))
    with pytest.raises(ValueError, match="Pass pixel_values"):
        model(decoder_input_ids=torch.zeros(3, 1, dtype=torch.long))


@pytest.mark.parametrize(("overrides", "message"), [
    (dict(cnn_channels=[]), "non-empty list of positive integers"),
    (dict(cnn_channels=[8, 0]), r"got \[8, 0\]"),
    (dict(image_size=4, cnn_channels=[8, 8, 8]), "image_size=4 is smaller than the CNN's total stride"),
    (dict(doubly_stochastic_weight=-1.0), "must be >= 0"),
    (dict(pad_token_id=40), "pad_token_id=40 is outside the vocabulary"),
    (dict(feature_self_attention=True, cnn_channels=[4]), "at least 8"),
])
def test_bad_configs_fail_at_construction_naming_the_value(overrides, message):
    with pytest.raises(StrictDataclassError, match=message):
        tiny_config(**overrides)


def test_a_misspelled_option_or_a_backbone_without_model_type_is_a_clear_error():
    with pytest.raises(ValueError, match="Did you mean 'gating_scalar'"):
        tiny_config(gating_scaler=False)
    with pytest.raises(ValueError, match="no 'model_type'"):
        ShowAttendTellForConditionalGeneration(tiny_config(backbone_config={"depths": [1]}))
