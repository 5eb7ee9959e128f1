"""The image encoder of the captioning family: a CNN whose last feature map is the grid of annotation vectors
a_1 ... a_L (Xu et al. 2015, arXiv:1502.03044, §3.1.1), optionally followed by SAGAN self-attention
(Zhang et al. 2018, arXiv:1805.08318). Either a small CNN trained from scratch or a transformers backbone."""

import torch
from torch import nn
from transformers import AutoBackbone
from transformers.modeling_outputs import BaseModelOutput

from .configuration_show_attend_tell import ShowAttendTellConfig
from .feature_map_attention import FeatureMapSelfAttention


class ConvStage(nn.Sequential):
    """One stage of the small CNN: a stride-2 4×4 convolution halves the map, a 3×3 convolution refines it; each is
    followed by batch norm and ReLU. (batch, C_in, H, W) -> (batch, C_out, H/2, W/2).

    Why 4×4 (padding 1) rather than the usual 3×3 (padding 1) for the downsampling: output cell j then reads input
    cells 2j-1 ... 2j+2, centred on the two cells it replaces, so after every stage each grid cell's receptive field
    is centred on the image patch the cell tiles. With 3×3 the centre drifts half an input cell up and to the left
    per stage (3.5 px after three stages on a 64 px image), and attention that finds an object lands on the cells
    above and left of it, which is what the attention maps and their overlays would then show."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class SmallCNN(nn.Sequential):
    """`config.cnn_channels` stages; (batch, num_channels, S, S) -> (batch, D, S / 2^stages, S / 2^stages)."""

    def __init__(self, config: ShowAttendTellConfig):
        channels = [config.num_channels, *config.cnn_channels]
        super().__init__(*(ConvStage(c_in, c_out) for c_in, c_out in zip(channels, channels[1:])))
        self.out_channels = channels[-1]


class ShowAttendTellImageEncoder(nn.Module):
    """Image -> annotation vectors. Input `pixel_values` (batch, channels, S, S) as the image processor returns them;
    output a `BaseModelOutput` with `last_hidden_state` a (batch, L = H'·W', D) in row-major grid order,
    `hidden_states` (with `output_hidden_states`) the final feature map (batch, D, H', W') before flattening, and
    `attentions` (with `output_attentions` and `feature_self_attention`) a 1-tuple of the SAGAN maps
    (batch, 1, L queries, L positions)."""

    main_input_name = "pixel_values"

    def __init__(self, config: ShowAttendTellConfig):
        super().__init__()
        self.config = config
        if config.backbone_config is None:
            self.cnn = SmallCNN(config)
            channels = self.cnn.out_channels
        else:
            self.backbone = AutoBackbone.from_config(config.build_backbone_config())
            channels = self.backbone.channels[-1]
        self.self_attention = FeatureMapSelfAttention(channels) if config.feature_self_attention else None
        self.annotation_size = channels + (2 if config.grid_coordinates else 0)  # D

    def feature_map(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(batch, channels, S, S) -> the CNN's last feature map (batch, D, H', W'), before self-attention."""
        if self.config.backbone_config is None:
            return self.cnn(pixel_values)
        return self.backbone(pixel_values).feature_maps[-1]

    def forward(
        self,
        pixel_values: torch.Tensor,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutput | tuple:
        check_pixel_values(pixel_values, self.config.num_channels)
        feature_map = self.feature_map(pixel_values)
        attention = None
        if self.self_attention is not None:
            feature_map, attention = self.self_attention(feature_map)
        annotations = feature_map.flatten(2).transpose(1, 2)  # (batch, L, D): a_1 ... a_L
        if self.config.grid_coordinates:
            annotations = torch.cat([annotations, grid_coordinates(feature_map).expand(len(annotations), -1, -1)], -1)
        output = BaseModelOutput(
            last_hidden_state=annotations,
            hidden_states=(feature_map,) if output_hidden_states else None,
            attentions=(attention.unsqueeze(1),) if output_attentions and attention is not None else None,
        )
        return output if return_dict is not False else output.to_tuple()


def grid_coordinates(feature_map: torch.Tensor) -> torch.Tensor:
    """(1, H'·W', 2): the (x, y) centre of each grid cell in [-1, 1], row-major, as CoordConv adds them (Liu et al.
    2018, arXiv:1807.03247)."""
    height, width = feature_map.shape[-2:]
    ys = (torch.arange(height, device=feature_map.device, dtype=feature_map.dtype) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=feature_map.device, dtype=feature_map.dtype) + 0.5) / width * 2 - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(1, height * width, 2)


def check_pixel_values(pixel_values: torch.Tensor, num_channels: int) -> None:
    """A clear error for images the encoder cannot read (wrong rank, channels, dtype, or non-finite values)."""
    if not torch.is_tensor(pixel_values) or pixel_values.ndim != 4:
        shape = tuple(pixel_values.shape) if torch.is_tensor(pixel_values) else type(pixel_values).__name__
        raise ValueError(
            f"pixel_values must be a tensor (batch, channels, height, width), got {shape}. Prepare images with the "
            "model's image processor: processor(images=..., return_tensors='pt')."
        )
    if pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values has {pixel_values.shape[1]} channels but the model reads {num_channels} (config.num_channels); "
            "convert the images to RGB first (the image processor does)."
        )
    if not pixel_values.is_floating_point():
        raise TypeError(
            f"pixel_values must be floating point (rescaled and normalised), got {pixel_values.dtype}: use the image "
            "processor, or pixel_values.float() / 255."
        )
    if not bool(torch.isfinite(pixel_values).all()):
        raise ValueError("pixel_values holds NaN or infinite values.")


__all__ = ["ShowAttendTellImageEncoder", "SmallCNN", "ConvStage", "check_pixel_values", "grid_coordinates"]
