"""SNR attention (the AF module of ADJSCC, Xu et al. 2021): channel-wise gains computed
from the feature map's global mean and the channel SNR, so that one model adapts its
features to every SNR it is used at."""

import torch
from torch import nn

SNR_SCALE_DB = 10.0  # SNRs enter the fully connected layers as dB / 10


class SnrAttention(nn.Module):
    """x [B, C, H, W], snr_db [B] -> x scaled per channel by sigmoid(FC(ReLU(FC(.))))."""

    def __init__(self, channels, *, reduction=8):
        super().__init__()
        hidden = max((channels + 1) // reduction, 8)
        self.fc = nn.Sequential(nn.Linear(channels + 1, hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x, snr_db):
        context = torch.cat([x.mean(dim=(2, 3)), snr_db.view(-1, 1) / SNR_SCALE_DB], dim=1)
        return x * self.fc(context)[:, :, None, None]
