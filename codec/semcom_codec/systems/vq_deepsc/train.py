"""Training of VQ-DeepSC as published: noiseless, L1 + VQ against a PatchGAN.

The generator minimises lambda * (L1 + codebook + beta_c * commitment) + BCE(D(x_hat), 1)
with lambda = 5 and beta_c = 0.25; the unconditional n_layers = 3 PatchGAN is trained
with BCE; Adam, G 1.75e-4 and D 1e-5, betas (0.5, 0.999), as the paper gives. The
codebooks follow EMAs of their assignments (k-means initialised, dead entries restarted),
which the paper does not say but which keeps entries this few in use. The first
--warmup-share of steps train without the GAN term (the discriminator idles), so the
adversary meets a working autoencoder. Checkpoints resume exactly.
"""

import dataclasses
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from ...checkpoints import file_sha256, read_weight_file
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
from .config import VqDeepScConfig, get_config
from .model import VqDeepSc

SYSTEM = "vq_deepsc"
CHECKPOINT = "checkpoint_vq_deepsc.pt"
DISC_WIDTHS = (32, 64, 128, 256)  # pix2pix's 64..512 halved


def add_train_arguments(p):
    """Flags of ``semcom train vq_deepsc``."""
    p.add_argument("--config", default="small",
                   help="small (the paper's N = 16/8/4/2) or small-unquantized (its upper "
                        "bound)")
    p.add_argument("--data", default="../shared/data/train256", help="training image folder")
    p.add_argument("--val", default="../shared/data/val_cid22",
                   help="validation image folder ('' for none)")
    p.add_argument("--val-images", type=int, default=8, help="validation images used")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, weights")
    p.add_argument("--steps", type=int, default=6000, help="iterations in all")
    p.add_argument("--warmup-share", type=float, default=0.3,
                   help="share of --steps before the GAN term and the discriminator start")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1.75e-4, help="generator peak learning rate")
    p.add_argument("--disc-lr", type=float, default=1e-5, help="discriminator learning rate")
    p.add_argument("--warmup", type=int, default=100, help="learning-rate warm-up steps")
    p.add_argument("--clip-grad", type=float, default=1.0, help="gradient norm clipping")
    p.add_argument("--init", help="a trained VQ-DeepSC weight file: refine its decoder alone "
                                  "(encoder and codebooks frozen) for --decoder-without")
    p.add_argument("--decoder-without", type=int, nargs="*", default=[],
                   help="with --init: scales (1 = finest) the decoder learns to do "
                        "without, given their codebook means (the CBR-matched links drop 1)")
    add_run_flags(p)


def save_weights(model, path, extra):
    """A shipped weight file: it names its system and configuration."""
    state = {"system": SYSTEM, "config": model.cfg.to_dict(),
             "state_dict": model.state_dict(), "extra": extra}
    save_atomic(state, path)


def perplexity(counts):
    """exp(entropy) of an index histogram: N when every entry is used equally, 1 when
    one entry takes everything."""
    p = counts.double() / max(float(counts.sum()), 1.0)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def validate(model, images, device):
    """Noiseless mean PSNR over full validation images and each scale's perplexity."""
    model.eval()
    psnrs = []
    counts = [torch.zeros(n, dtype=torch.long) for n in model.cfg.entries]
    for im in images:
        x = im.float().div(255.0)[None].to(device)
        h, w = x.shape[-2:]
        padded, _ = pad_to_factor(x, model.cfg.factor)
        if model.cfg.quantize:  # by the inference paths: no codebook statistics move
            indices = model.encode_indices(padded)
            y = (refining_pass(model, padded)[0] if model.cfg.decoder_without
                 else model.decoder(model.code_vectors(indices)))
        else:
            y, indices = model(padded)[0], None
        y = y[..., :h, :w].clamp(0, 1)
        mse = F.mse_loss((y * 255).round(), (x * 255).round()).item()
        psnrs.append(10 * math.log10(255 ** 2 / max(mse, 1e-10)))
        for k, idx in enumerate(indices or []):
            counts[k] += torch.bincount(idx.flatten().long().cpu(), minlength=len(counts[k]))
    model.train()
    out = {"val_psnr": sum(psnrs) / len(psnrs)}
    if model.cfg.quantize:
        out["val_perplexity"] = [round(perplexity(c), 3) for c in counts]
    return out


def initial_model(args):
    """The model a run starts from: a new one of --config, or --init's with its decoder
    to refine for --decoder-without."""
    if not args.init:
        if args.decoder_without:
            raise ValueError("--decoder-without refines a trained decoder: give --init")
        return VqDeepSc(get_config(args.config))
    from .image_codec import model_from_payload

    base = model_from_payload(read_weight_file(args.init, "cpu"), args.init)
    if not base.cfg.quantize:
        raise ValueError(f"{args.init}: the unquantized upper bound has no scales to drop")
    without = tuple(sorted(set(args.decoder_without)))
    cfg = dataclasses.replace(base.cfg, decoder_without=without)
    VqDeepScConfig.from_dict(cfg.to_dict())  # refuses scales the model does not have
    model = VqDeepSc(cfg)
    model.load_state_dict(base.state_dict())
    return model


def refining_pass(model, x):
    """Frozen encoder and codebooks (eval: no EMA, no batch statistics), the decoder
    given the codebook means of the scales it goes without."""
    from .image_codec import missing_scale

    with torch.no_grad():
        model.encoder.eval()
        codes = []
        for s, (quantizer, z) in enumerate(zip(model.quantizers, model.encoder(x)), start=1):
            if s in model.cfg.decoder_without:
                codes.append(missing_scale(quantizer, z.shape[2], z.shape[3], z.shape[0]))
            else:
                codes.append(quantizer.quantize(z)[1])
    zero = x.new_zeros(())
    return model.decoder(codes), None, zero, zero, zero


def train(args):
    """Trains one VQ-DeepSC configuration (or refines a decoder); returns the model
    (weights in --out)."""
    if not 0 <= args.warmup_share <= 1:
        raise ValueError(f"--warmup-share must lie in 0..1, got {args.warmup_share}")
    gan_start = round(args.steps * args.warmup_share)
    device, main_process, ckpt_path = start_run(args, CHECKPOINT)
    model = initial_model(args).to(device).train()
    cfg = model.cfg
    refining = bool(args.init)
    trained = model.decoder if refining else model
    optimizer = torch.optim.Adam(trained.parameters(), lr=args.lr, betas=(0.5, 0.999))
    disc = PatchDiscriminator(widths=DISC_WIDTHS).to(device).train()
    disc_optimizer = torch.optim.Adam(disc.parameters(), lr=args.disc_lr, betas=(0.5, 0.999))
    crops = data.RandomCrops(data.load_folder_uint8(args.data), args.crop,
                             crop_generator(args, 0))
    val_images = (data.load_folder_uint8(args.val, args.val_images)
                  if args.val and main_process else [])
    autocast = mixed_precision(device, args.precision)

    step = 0
    if args.resume and os.path.exists(ckpt_path):
        state = read_weight_file(ckpt_path, device, what="training checkpoint")
        if VqDeepScConfig.from_dict(state["config"]) != cfg:
            raise ValueError(f"{ckpt_path} was trained with another configuration")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        disc.load_state_dict(state["disc"])
        disc_optimizer.load_state_dict(state["disc_optimizer"])
        torch.set_rng_state(state["torch_rng"])
        step = state["step"]
        crops.generator = crop_generator(args, step)
        if main_process:
            crops.generator.set_state(state["crop_rng"])
            print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)

    net = ddp(model, device)
    if refining:
        def net(x):
            return refining_pass(model, x)
    disc_net = ddp(disc, device)
    log = open(os.path.join(args.out, "log_vq_deepsc.jsonl"), "a")
    progress = Progress(args.steps, step)
    stop = StopRule(args)

    def disc_step(x, x_hat):
        with autocast:
            real = disc_net(x).float()
            fake = disc_net(x_hat.detach()).float()
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        disc_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        disc_optimizer.step()
        return {"d_loss": loss, "d_real": torch.sigmoid(real).mean(),
                "d_fake": torch.sigmoid(fake).mean()}

    while step < args.steps:
        adversarial = step >= gan_start
        x = crops.sample(args.batch).to(device)
        lr = cosine_lr(step, args.steps, args.warmup, args.lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast:
            x_hat, _, vq, codebook, commitment = net(x)
            x_hat = x_hat.float()
            l1 = F.l1_loss(x_hat, x)
            loss = cfg.l1_vq_weight * (l1 + vq)
            record = {"lr": lr, "l1": l1, "codebook": codebook, "commitment": commitment,
                      "mse": F.mse_loss(x_hat.detach(), x)}
            if adversarial:
                fake = disc_net(x_hat).float()
        if adversarial:
            gan = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
            loss = loss + cfg.gan_weight * gan
            record["g_gan"] = gan
        optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained.parameters(), args.clip_grad)
            optimizer.step()
        record["loss"] = loss
        if adversarial:
            record.update(disc_step(x, x_hat))
        step += 1

        if main_process and (step % args.log_every == 0 or step == args.steps):
            record = {"step": step, "phase": "adversarial" if adversarial else "warmup",
                      **{k: v.item() if torch.is_tensor(v) else v for k, v in record.items()}}
            record["psnr_train"] = 10 * math.log10(1 / max(record["mse"], 1e-10))
            if val_images and (step % args.val_every == 0 or step == args.steps):
                record.update(validate(model, val_images, device))
                print(f"\nvalidation at {step}: PSNR {record['val_psnr']:.2f} dB"
                      + (f", perplexity {record['val_perplexity']}"
                         if "val_perplexity" in record else ""), file=sys.stderr)
            progress.update(step, record["phase"] + " " + " ".join(
                f"{k} {record[k]:.4f}" for k in ("l1", "commitment", "d_loss") if k in record))
            record["time"] = time.time()
            log.write(json.dumps(record) + "\n")
            log.flush()
        stopping = stop(step)
        if main_process and (step % args.checkpoint_every == 0 or step == args.steps
                             or stopping):
            save_atomic({"step": step, "config": cfg.to_dict(), "model": model.state_dict(),
                         "optimizer": optimizer.state_dict(), "disc": disc.state_dict(),
                         "disc_optimizer": disc_optimizer.state_dict(),
                         "torch_rng": torch.get_rng_state(),
                         "crop_rng": crops.generator.get_state()}, ckpt_path)
        if stopping:
            if main_process:
                print(f"\nstopped at step {step}; continue with --resume", file=sys.stderr)
            distributed.cleanup()
            return model

    model.eval()
    distributed.assert_in_sync(model)
    if main_process:
        path = os.path.join(args.out, "vq_deepsc.pt")
        extra = {"steps": args.steps, "gan_start": gan_start}
        if refining:
            extra.update(init=os.path.basename(args.init), init_sha256=file_sha256(args.init))
        save_weights(model, path, extra)
        print(f"\ndone: {path}", file=sys.stderr)
    distributed.cleanup()
    return model
