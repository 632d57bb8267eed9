"""Training of the deep JSCC systems, the channel inside the loop.

MSE twin: one phase, MSE through complex AWGN at Es/N0 drawn per sample from the
paper's training set. Perceptual: the paper's three phases, in shares of --steps:
LPIPS (AlexNet) + MSE pretraining, discriminator only, then one discriminator step and
one generator step (LPIPS + MSE + GAN) per iteration. Checkpoints resume exactly (models,
both optimisers, crop and noise streams), so a run may be split over sessions.
"""

import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from ...checkpoints import read_weight_file
from ...layers.padding import pad_to_factor
from ...layers.patchgan import PatchDiscriminator
from ...training import data, distributed
from ...training.loop import (
    Progress,
    StopRule,
    add_run_flags,
    cosine_lr,
    crop_generator,
    ddp,
    mixed_precision,
    save_atomic,
    start_run,
)
from .config import DeepJsccConfig, get_config
from .model import DeepJscc

SYSTEM = "deep_jscc"
CHECKPOINT = "checkpoint_deep_jscc.pt"
VALIDATION_SNR_DB = 10.0


def add_train_arguments(p):
    """Flags of ``semcom train deep_jscc``."""
    p.add_argument("--config", default="deep_jscc_mse/small-1/24",
                   help="deep_jscc/small-1/24, deep_jscc/small-1/48 (perceptual) or "
                        "deep_jscc_mse/small-1/24, deep_jscc_mse/small-1/48 (MSE twin)")
    p.add_argument("--data", default="../shared/data/train256", help="training image folder")
    p.add_argument("--val", default="../shared/data/val_cid22",
                   help="validation image folder ('' for none)")
    p.add_argument("--val-images", type=int, default=8, help="validation images used")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, weights")
    p.add_argument("--steps", type=int, default=8000, help="iterations in all")
    p.add_argument("--pretrain-share", type=float, default=0.6,
                   help="perceptual: share of --steps pretraining with LPIPS + MSE")
    p.add_argument("--disc-share", type=float, default=0.05,
                   help="perceptual: share of --steps training the discriminator alone")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=7e-4, help="generator peak learning rate")
    p.add_argument("--disc-lr", type=float, default=1e-4, help="discriminator learning rate")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--clip-grad", type=float, default=1.0, help="gradient norm clipping")
    add_run_flags(p)


def phase_bounds(cfg, args):
    """(end of pretraining, end of discriminator-only) steps: both --steps when the
    model has no GAN term."""
    if not cfg.gan_weight:
        return args.steps, args.steps
    if not (0 <= args.pretrain_share and 0 <= args.disc_share
            and args.pretrain_share + args.disc_share <= 1):
        raise ValueError("--pretrain-share and --disc-share must be non-negative shares "
                         f"summing to at most 1, got {args.pretrain_share}, {args.disc_share}")
    pretrain = round(args.steps * args.pretrain_share)
    return pretrain, pretrain + round(args.steps * args.disc_share)


def save_weights(model, path, extra):
    """A shipped weight file: it names its system and configuration."""
    state = {"system": SYSTEM, "config": model.cfg.to_dict(),
             "state_dict": model.state_dict(), "extra": extra}
    save_atomic(state, path)


@torch.no_grad()
def validate(model, lpips, images, device, snr_db=VALIDATION_SNR_DB, seed=0):
    """Mean PSNR (and LPIPS) over full validation images at one Es/N0, fixed noise."""
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    psnrs, distances = [], []
    factor = model.cfg.factor
    for im in images:
        x = im.float().div(255.0)[None].to(device)
        h, w = x.shape[-2:]
        padded, _ = pad_to_factor(x, factor)
        y = model(padded, snr_db, generator)[0][..., :h, :w].clamp(0, 1)
        mse = F.mse_loss((y * 255).round(), (x * 255).round()).item()
        psnrs.append(10 * math.log10(255 ** 2 / max(mse, 1e-10)))
        if lpips is not None:
            distances.append(lpips(y, x, normalize=True).item())
    model.train()
    out = {"val_psnr": sum(psnrs) / len(psnrs)}
    if distances:
        out["val_lpips"] = sum(distances) / len(distances)
    return out


def train(args):
    """Trains one deep JSCC configuration; returns the model (weights in --out)."""
    from ...metrics.lpips import LPIPS

    cfg = get_config(args.config)
    pretrain_end, disc_end = phase_bounds(cfg, args)
    device, main_process, ckpt_path = start_run(args, CHECKPOINT)
    model = DeepJscc(cfg).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    disc = disc_optimizer = None
    if cfg.gan_weight:
        disc = PatchDiscriminator(condition_channels=cfg.latent_channels,
                                  factor=cfg.factor).to(device).train()
        disc_optimizer = torch.optim.Adam(disc.parameters(), lr=args.disc_lr,
                                          betas=(0.5, 0.999))
    with torch.random.fork_rng(devices=[]):
        lpips = LPIPS().to(device) if (cfg.lpips_weight or args.val) else None
    crops = data.RandomCrops(data.load_folder_uint8(args.data), args.crop,
                             crop_generator(args, 0))
    noise = torch.Generator(device=device).manual_seed(
        args.seed + 1 + 7919 * distributed.rank())
    val_images = (data.load_folder_uint8(args.val, args.val_images)
                  if args.val and main_process else [])
    train_snrs = torch.tensor(cfg.train_snrs, device=device)
    autocast = mixed_precision(device, args.precision)

    step = 0
    if args.resume and os.path.exists(ckpt_path):
        state = read_weight_file(ckpt_path, device, what="training checkpoint")
        if DeepJsccConfig.from_dict(state["config"]) != cfg:
            raise ValueError(f"{ckpt_path} was trained with another configuration")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if disc is not None:
            disc.load_state_dict(state["disc"])
            disc_optimizer.load_state_dict(state["disc_optimizer"])
        torch.set_rng_state(state["torch_rng"])
        step = state["step"]
        crops.generator = crop_generator(args, step)
        if main_process:
            crops.generator.set_state(state["crop_rng"])
            noise.set_state(state["noise_rng"])
            print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
        else:
            noise.manual_seed(args.seed + 1 + 7919 * distributed.rank() + step)

    net = ddp(model, device)
    disc_net = ddp(disc, device) if disc is not None else None
    log = open(os.path.join(args.out, "log_deep_jscc.jsonl"), "a")
    progress = Progress(args.steps, step)
    stop = StopRule(args)

    def batch():
        x = crops.sample(args.batch).to(device)
        pick = torch.randint(len(train_snrs), (x.shape[0],), device=device, generator=noise)
        return x, train_snrs[pick]

    def disc_step(x, snr):
        with torch.no_grad(), autocast:
            x_hat, latent = net(x, snr, noise)
        with autocast:
            real = disc_net(x, latent).float()
            fake = disc_net(x_hat.float().clamp(0, 1), latent).float()
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        disc_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        disc_optimizer.step()
        return {"d_loss": loss, "d_real": torch.sigmoid(real).mean(),
                "d_fake": torch.sigmoid(fake).mean()}

    def generator_step(x, snr, adversarial, lr):
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast:
            x_hat, latent = net(x, snr, noise)
            x_hat = x_hat.float()
            mse = F.mse_loss(x_hat, x)
            loss = cfg.mse_weight * mse
            record = {"lr": lr, "mse": mse}
            if cfg.lpips_weight:
                perceptual = lpips(x_hat, x, normalize=True).float().mean()
                loss = loss + cfg.lpips_weight * perceptual
                record["lpips"] = perceptual
            if adversarial:
                fake = disc_net(x_hat, latent.detach()).float()
        if adversarial:
            gan = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
            loss = loss + cfg.gan_weight * gan
            record["g_gan"] = gan
        optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
            optimizer.step()
        record["loss"] = loss
        return record

    while step < args.steps:
        phase = ("pretrain" if step < pretrain_end else
                 "disc" if step < disc_end else "adversarial")
        x, snr = batch()
        record = {}
        if phase != "pretrain":
            record.update(disc_step(x, snr))
        if phase != "disc":
            lr = cosine_lr(step, args.steps, args.warmup, args.lr)
            record.update(generator_step(x, snr, phase == "adversarial", lr))
        step += 1

        if main_process and (step % args.log_every == 0 or step == args.steps):
            record = {"step": step, "phase": phase,
                      **{k: v.item() if torch.is_tensor(v) else v for k, v in record.items()}}
            if "mse" in record:
                record["psnr_train"] = 10 * math.log10(1 / max(record["mse"], 1e-10))
            if val_images and (step % args.val_every == 0 or step == args.steps):
                record.update(validate(model, lpips, val_images, device))
                print(f"\nvalidation at {step} ({VALIDATION_SNR_DB:g} dB): " + ", ".join(
                    f"{k} {record[k]:.3f}" for k in ("val_psnr", "val_lpips") if k in record),
                    file=sys.stderr)
            progress.update(step, phase + " " + " ".join(
                f"{k} {record[k]:.4f}" for k in ("mse", "lpips", "d_loss") if k in record))
            record["time"] = time.time()
            log.write(json.dumps(record) + "\n")
            log.flush()
        stopping = stop(step)
        if main_process and (step % args.checkpoint_every == 0 or step == args.steps
                             or stopping):
            state = {"step": step, "config": cfg.to_dict(), "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                     "crop_rng": crops.generator.get_state(), "noise_rng": noise.get_state()}
            if disc is not None:
                state.update(disc=disc.state_dict(), disc_optimizer=disc_optimizer.state_dict())
            save_atomic(state, ckpt_path)
        if stopping:
            if main_process:
                print(f"\nstopped at step {step}; continue with --resume", file=sys.stderr)
            distributed.cleanup()
            return model

    model.eval()
    distributed.assert_in_sync(model)
    if main_process:
        path = os.path.join(args.out, "deep_jscc.pt")
        save_weights(model, path, {"steps": args.steps, "phases": [pretrain_end, disc_end]})
        print(f"\ndone: {path}", file=sys.stderr)
    distributed.cleanup()
    return model
