"""Configuration of the image-captioning family: Show, Attend and Tell with soft attention, its no-attention baseline,
and SAGAN self-attention over the CNN's feature map.

Papers: Xu et al. 2015 (arXiv:1502.03044), Zhang et al. 2018 (arXiv:1805.08318).
"""

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig

from .config_validation import reject_misspelled_options, require_positive, require_probability, require_token_ids_in_vocab
from .transformers_compat import CACHE_NAMES


@strict
class ShowAttendTellConfig(PreTrainedConfig):
    r"""Configuration of [`ShowAttendTellModel`] and [`ShowAttendTellForConditionalGeneration`].

    A CNN turns the image into a grid of L = H'×W' annotation vectors a_i of size D (Xu et al. §3.1.1); an LSTM
    decoder writes the caption, attending over the grid at every step (§3.1.2, soft attention §4.2).

    Args:
        vocab_size (`int`, defaults to 10000): caption vocabulary size K (Xu et al. §5.1 keep a vocabulary of
            10,000 words).
        image_size (`int`, defaults to 64): height and width of the (square) input images in pixels; the image
            processor resizes to it. The built-in synthetic shapes task uses 64.
        num_channels (`int`, defaults to 3): colour channels of the input images.
        cnn_channels (`list[int]`, defaults to `[32, 64, 128]`): the small CNN trained from scratch: one stage per
            entry, each a stride-2 4×4 convolution and a 3×3 convolution, with batch norm and ReLU; the grid is
            image_size / 2^stages on a side and D is the last entry. Xu et al. use VGG's conv5_4 (14×14×512) of a
            pretrained network, which cannot be downloaded here. Ignored with `backbone_config`.
        backbone_config (`dict` or `PreTrainedConfig`, *optional*): a transformers backbone instead of the small CNN
            (e.g. `ResNetConfig(out_features=["stage3"])`), built with `AutoBackbone.from_config` and randomly
            initialised; its last feature map is the grid. Stored as a plain dict. Load pretrained backbone weights
            from a local folder with `ShowAttendTellForConditionalGeneration.load_backbone_weights`.
        feature_self_attention (`bool`, defaults to `False`): a SAGAN self-attention block (Zhang et al. §3) over the
            final feature map before the decoder reads it.
        grid_coordinates (`bool`, defaults to `False`): append each grid cell's (x, y) centre in [-1, 1] to its
            annotation vector (D + 2), as CoordConv does (Liu et al. 2018, arXiv:1807.03247), so that the context
            ẑ_t tells the decoder where it looked. Not in the paper, whose VGG features carry position only through
            their content.
        embedding_size (`int`, defaults to 512): word embedding size m (E ∈ R^{m×K}, Xu et al. §3.1.2).
        hidden_size (`int`, defaults to 512): LSTM units n.
        attention_hidden_size (`int`, *optional*): hidden units of the attention MLP f_att; defaults to
            `hidden_size`. The paper does not state the sizes; 512 is what the widely used PyTorch re-implementations
            choose.
        attention_type (`str`, defaults to `"soft"`): "soft" is deterministic soft attention (§4.2); "none" is the
            baseline without attention: the mean annotation vector is the fixed context ẑ of every step (as the
            context-vector seq2seq does for text).
        gating_scalar (`bool`, defaults to `True`): scale the context by β_t = σ(f_β(h_{t-1})) (§4.2.1).
        doubly_stochastic_weight (`float`, defaults to 1.0): λ of the doubly stochastic regulariser
            λ Σ_i (1 − Σ_t α_ti)² (§4.2.1 eq. 14), added to the loss of every caption; 0 switches it off. Steps whose
            label is -100 (padding) do not count in Σ_t. Without attention (attention_type "none") there are no
            weights to regularise: leave the default, or 0.
        dropout (`float`, defaults to 0.5): dropout on the deep output before L_o (§5.2: dropout).
        init_std (`float`, defaults to 0.02): standard deviation of the normal initialisation of linear and embedding
            weights; convolutions use Kaiming initialisation.
        tie_word_embeddings (`bool`, defaults to `False`): share E and L_o (both m×K).
        bos_token_id, pad_token_id, eos_token_id, decoder_start_token_id (`int`, defaults to 0, 1, 2, 0): special
            ids, in the order of the package's tokenizers.
        use_cache (`bool`, defaults to `True`): return the decoder state for incremental decoding.
        is_encoder_decoder (`bool`, defaults to `True`): always True: generate() runs the image encoder once.
    """

    model_type = "zoo_show_attend_tell"
    keys_to_ignore_at_inference = CACHE_NAMES

    vocab_size: int = 10000
    image_size: int = 64
    num_channels: int = 3
    cnn_channels: list[int] | tuple[int, ...] = (32, 64, 128)
    backbone_config: dict | PreTrainedConfig | None = None
    feature_self_attention: bool = False
    grid_coordinates: bool = False
    embedding_size: int = 512
    hidden_size: int = 512
    attention_hidden_size: int | None = None
    attention_type: Literal["soft", "none"] = "soft"
    gating_scalar: bool = True
    doubly_stochastic_weight: float | int = 1.0
    dropout: float | int = 0.5
    init_std: float = 0.02
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 0
    pad_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 0
    use_cache: bool = True
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs):
        reject_misspelled_options(self, kwargs)
        self.cnn_channels = list(self.cnn_channels)
        if isinstance(self.backbone_config, PreTrainedConfig):
            # A plain dict (with its model_type) saves to config.json and loads under any transformers release.
            self.backbone_config = self.backbone_config.to_dict()
        if self.attention_hidden_size is None:
            self.attention_hidden_size = self.hidden_size
        super().__post_init__(**kwargs)

    def build_backbone_config(self) -> PreTrainedConfig:
        """The backbone's config object, from the stored dict."""
        fields = dict(self.backbone_config)
        model_type = fields.pop("model_type", None)
        if model_type is None:
            raise ValueError(
                "backbone_config has no 'model_type': pass a transformers config (e.g. ResNetConfig(...)) or a dict "
                "with its model_type."
            )
        return AutoConfig.for_model(model_type, **fields)

    @property
    def feature_grid_size(self) -> int | None:
        """Side H' = W' of the small CNN's grid (image_size / 2^stages); None with a backbone."""
        if self.backbone_config is not None:
            return None
        return -(-self.image_size // 2 ** len(self.cnn_channels))

    def validate_sizes(self):
        require_positive(self, ["vocab_size", "image_size", "num_channels", "embedding_size", "hidden_size",
                                "attention_hidden_size"])
        require_probability(self, ["dropout"])
        if not self.cnn_channels or any(not isinstance(c, int) or c <= 0 for c in self.cnn_channels):
            raise ValueError(
                f"ShowAttendTellConfig: cnn_channels must be a non-empty list of positive integers, got "
                f"{self.cnn_channels}. Use e.g. [32, 64, 128]."
            )
        if self.backbone_config is None and self.image_size < 2 ** len(self.cnn_channels):
            raise ValueError(
                f"ShowAttendTellConfig: image_size={self.image_size} is smaller than the CNN's total stride "
                f"2^{len(self.cnn_channels)} = {2 ** len(self.cnn_channels)}: raise image_size or use fewer cnn_channels."
            )
        if self.feature_self_attention and self.backbone_config is None and self.cnn_channels[-1] < 8:
            raise ValueError(
                f"feature_self_attention projects to C/8 channels, so the last of cnn_channels must be at least 8, got "
                f"{self.cnn_channels[-1]}."
            )
        if self.doubly_stochastic_weight < 0:
            raise ValueError(
                f"ShowAttendTellConfig: doubly_stochastic_weight (λ) must be >= 0, got {self.doubly_stochastic_weight}."
            )
        if self.init_std <= 0:
            raise ValueError(f"ShowAttendTellConfig: init_std must be positive, got {self.init_std}.")

    def validate_attention(self):
        if self.attention_type == "none" and self.doubly_stochastic_weight and self.doubly_stochastic_weight != 1.0:
            raise ValueError(
                f"doubly_stochastic_weight={self.doubly_stochastic_weight} regularises attention weights, but "
                "attention_type='none' has none. Set doubly_stochastic_weight=0 (or leave the default)."
            )

    def validate_backbone(self):
        if self.backbone_config is not None and not isinstance(self.backbone_config, dict):
            raise TypeError(
                f"backbone_config must be a transformers config or a dict, got {type(self.backbone_config).__name__}."
            )

    def validate_token_ids(self):
        require_token_ids_in_vocab(self, ["pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"])


__all__ = ["ShowAttendTellConfig"]
