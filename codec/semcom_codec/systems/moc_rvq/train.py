"""Stage 1 (autoencoder + MOC-RVQ, no channel) and stage 2 (NRB through the channel).

Both stages checkpoint at intervals and resume exactly (model, optimiser, schedule,
random generators), so a run can be split over sessions of a few hours or over
10-minute GPU calls.
"""

import dataclasses
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from ...checkpoints import read_weight_file
from ...training import data, distributed
from ...training.loop import (
    Progress,
    StopRule,
    cosine_lr,
    crop_generator,
    ddp,
    mixed_precision,
    save_atomic,
    start_run,
)
from .config import CodecConfig, get_config
from .model import SemanticCodec, save_codec

# Share of training samples decoded from the first L = 1..4 levels. Decoding from few
# levels rewards an encoder whose z sits on the level-1 code vectors (then levels 2-4
# carry almost nothing); weighting the full rate keeps the residual levels in use while
# every prefix still decodes. Measured at 1k steps on validation: (0.15, 0.2, 0.25, 0.4)
# with commitment 0.25 on every level gave L4 - L1 = 0.78 dB, these with 0.05 on the
# full-rate z_q 0.94-0.96 dB.
LEVEL_WEIGHTS = (0.1, 0.1, 0.1, 0.7)


def level_weights(text, levels):
    """Sampling weights of L = 1..levels from "w1,w2,..." (None: LEVEL_WEIGHTS)."""
    values = LEVEL_WEIGHTS[:levels] if not text else [float(v) for v in text.split(",")]
    if len(values) != levels or min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"--level-weights needs {levels} non-negative weights with a "
                         f"positive sum, got {text!r}")
    return torch.tensor(values, dtype=torch.float)


def training_modes(text):
    """The transmission modes stage 2 draws from "--modes": "" (none: 64-QAM only, the
    paper's link), "all" (every mode of phy.modes that is not all 64-QAM) or names."""
    from ...phy import modes

    if not text:
        return ()
    if text == "all":
        names = list(modes.MODE_IDS)
    else:
        names = [n for n in text.split(",") if n]
    chosen = tuple(modes.mode_named(n) for n in names)
    if any(m.id == 0 for m in chosen):
        raise ValueError("--modes lists the modes beside 64-QAM (which stage 2 always "
                         "trains); drop the all-64-QAM ones")
    return chosen


def cumulative_latents(quantizer, indices):
    """z_q from the first L levels, for every L: [D, B, n_q, h, w]."""
    return torch.stack([quantizer.dequantize(indices[:, :level])
                        for level in range(1, indices.shape[1] + 1)])


@torch.no_grad()
def validate(codec, lpips, images, device, levels=(1, 4)):
    """Mean PSNR / LPIPS over full validation images, noiseless, at the given levels."""
    codec.eval()
    out = {}
    for level in levels:
        psnr, perceptual = [], []
        for im in images:
            x = im.float().div(255.0)[None].to(device)
            y = codec.decode(codec.encode(x, level), size=x.shape[-2:])
            mse = F.mse_loss((y * 255).round(), (x * 255).round()).item()
            psnr.append(10 * math.log10(255 ** 2 / max(mse, 1e-10)))
            perceptual.append(lpips(y, x, normalize=True).item())
        out[f"psnr_L{level}"] = sum(psnr) / len(psnr)
        out[f"lpips_L{level}"] = sum(perceptual) / len(perceptual)
    codec.train()
    return out


def image_loss(decoder, lpips, z, x, lpips_weight, autocast):
    """(L1 + lpips_weight x LPIPS, L1, LPIPS) of decoding z against the images x."""
    with autocast:
        x_hat = decoder(z).float()
        l1 = (x_hat - x).abs().mean()
        perceptual = lpips(x_hat, x, normalize=True).mean()
    return l1 + lpips_weight * perceptual, l1, perceptual


def _save_checkpoint(path, step, codec, optimizer, crops, **extra_state):
    """Everything --resume needs, written atomically (a crash never leaves half a file)."""
    state = {"step": step, "codec": codec.state_dict(), "config": codec.cfg.to_dict(),
             "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
             "crop_rng": crops.generator.get_state(), **extra_state}
    save_atomic(state, path)


def _restore(state, codec, optimizer, crops, args, main_process, ckpt_path):
    """Loads a checkpoint's model, optimizer and random streams; returns its step."""
    codec.load_state_dict(state["codec"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    step = state["step"]
    crops.generator = crop_generator(args, step)
    if main_process:
        crops.generator.set_state(state["crop_rng"])
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    return step


def _stopped_early(main_process, codec, step):
    """Ends a run cut short by --stop-at / --time-limit (its checkpoint is written)."""
    if main_process:
        print(f"\nstopped at step {step}; continue with --resume", file=sys.stderr)
    distributed.cleanup()
    return codec


def _finish(codec, main_process, path, extra, stage):
    """Saves the trained codec (process 0, after checking all processes agree)."""
    codec.eval()
    distributed.assert_in_sync(codec)
    if main_process:
        save_codec(codec, path, extra=extra)
        print(f"\n{stage} done: {path}", file=sys.stderr)
    distributed.cleanup()
    return codec


def train_stage1(args):
    """L1 + LPIPS image loss, EMA codebooks with k-means init and restarts, commitment.

    After ``--steps`` joint steps, ``--decoder-steps`` more refine the decoder alone: the
    encoder and codebooks are frozen, so the decoder fits the final quantized latents
    without the codebook drift that longer joint training showed (level-1 collapse).
    """
    from ...metrics.lpips import LPIPS

    device, main_process, ckpt_path = start_run(args, "checkpoint_stage1.pt")

    cfg = get_config(args.config)
    codec = SemanticCodec(cfg).to(device).train()
    lpips = LPIPS().to(device)
    params = list(codec.encoder.parameters()) + list(codec.decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    crops = data.RandomCrops(data.load_folder_uint8(args.data), args.crop,
                             crop_generator(args, 0))
    val_images = (data.load_folder_uint8(args.val, args.val_images)
                  if args.val and main_process else [])

    step = 0
    if args.resume and os.path.exists(ckpt_path):
        state = read_weight_file(ckpt_path, device, what="training checkpoint")
        if CodecConfig.from_dict(state["config"]).stage1_fields() != cfg.stage1_fields():
            raise ValueError(f"{ckpt_path} was trained with another configuration")
        step = _restore(state, codec, optimizer, crops, args, main_process, ckpt_path)

    encoder, decoder = ddp(codec.encoder, device), ddp(codec.decoder, device)
    level_probs = level_weights(args.level_weights, cfg.levels)
    log = open(os.path.join(args.out, "log_stage1.jsonl"), "a")
    total = args.steps + args.decoder_steps
    progress = Progress(total, step)
    stop = StopRule(args)
    autocast = mixed_precision(device, args.precision)
    while step < total:
        decoder_only = step >= args.steps
        lr = (cosine_lr(step - args.steps, args.decoder_steps, 0, args.decoder_lr)
              if decoder_only else cosine_lr(step, args.steps, args.warmup, args.lr))
        for group in optimizer.param_groups:
            group["lr"] = lr
        codec.quantizer.train(not decoder_only)      # eval: no EMA updates, no restarts
        x = crops.sample(args.batch).to(device)
        with torch.set_grad_enabled(not decoder_only), autocast:
            z = encoder(x).float()
        _, indices, qlosses = codec.quantizer(z)      # joint steps: EMA updates, every level
        latents = cumulative_latents(codec.quantizer, indices)
        levels = torch.multinomial(level_probs, x.shape[0], replacement=True)
        z_q = latents[levels.to(device), torch.arange(x.shape[0], device=device)]
        z_st = z + (z_q - z).detach()                 # straight-through estimator
        loss, l1, perceptual = image_loss(decoder, lpips, z_st, x, args.lpips_weight, autocast)
        # 'final' ties z to the full-rate z_q only (its gradient is the last residual);
        # 'all' also ties z to every coarser z_q, which pulls z onto the level-1 code
        # vectors and starves the residual levels.
        commitment = (qlosses["commitment"][-1].sum() if args.commitment_levels == "final"
                      else qlosses["commitment"].sum())
        if not decoder_only:
            loss = loss + args.commitment * commitment
        optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, args.clip_grad)
            optimizer.step()
        step += 1

        if step % args.log_every == 0 or step == total:
            # every process resets its usage counters, so that all copies stay equal
            usage = codec.quantizer.codebook_usage(reset=True)
        if main_process and (step % args.log_every == 0 or step == total):
            record = {"step": step, "lr": lr, "decoder_only": decoder_only,
                      "loss": loss.item(), "l1": l1.item(),
                      "lpips": perceptual.item(), "commitment": commitment.item(),
                      "perplexity": [round(float(p), 2) for p in
                                     usage["perplexity"].mean(dim=1)]}
            progress.update(step, f"l1 {record['l1']:.4f} lpips {record['lpips']:.3f} "
                                  f"perplexity {record['perplexity']}")
            if step % args.val_every == 0 or step == total:
                if val_images:
                    record.update(validate(codec, lpips, val_images, device))
                    print(f"\nvalidation at {step}: " + ", ".join(
                        f"{k} {v:.3f}" for k, v in record.items() if k.startswith(("psnr", "lpips_"))),
                        file=sys.stderr)
            record["time"] = time.time()
            log.write(json.dumps(record) + "\n")
            log.flush()
        stopping = stop(step)
        if main_process and (step % args.checkpoint_every == 0 or step == total
                             or stopping):
            _save_checkpoint(ckpt_path, step, codec, optimizer, crops)
            if step % args.val_every == 0:  # a snapshot to go back to if a run degrades
                save_codec(codec, os.path.join(args.out, f"codec_stage1_step{step}.pt"),
                           extra={"stage": 1, "steps": step})
        if stopping:
            return _stopped_early(main_process, codec, step)

    return _finish(codec, main_process, os.path.join(args.out, "codec_stage1.pt"),
                   {"stage": 1, "steps": step, "decoder_steps": args.decoder_steps},
                   "stage 1")


def train_stage2(args):
    """NRB through the simulated channel (Es/N0 drawn from -5..30 dB), all else frozen.

    The stage-1 codebooks are reordered (Algorithm 1 + Gray mapping) first, so that the
    NRB learns the error statistics of the mapping that goes on the air. After ``--steps``
    NRB steps, ``--decoder-steps`` more refine the decoder alone (NRB frozen) on what the
    receiver gives it: the noiseless latent for a ``--decoder-clean`` share of samples,
    else the NRB's requantized output at a random Es/N0. A decoder refined on noiseless
    latents alone renders wrong code vectors badly (stage 1's tail measured that).
    """
    from ...phy.channels import IndexChannel
    from ...quantizers.reorder import reorder_mocrvq
    from .model import load_codec
    from .nrb import NoiseReductionBlock, noise_reduction_loss, snr_balanced

    if not args.init:
        raise ValueError("stage 2 needs --init, the stage-1 codec weights")
    if not args.balance >= 0:
        raise ValueError(f"--balance must be 0 (off) or a positive floor, got {args.balance}")
    if not 0 <= args.decoder_clean <= 1:
        raise ValueError(f"--decoder-clean must lie in 0..1, got {args.decoder_clean}")
    if not 0 <= args.mode_share <= 1:
        raise ValueError(f"--mode-share must lie in 0..1, got {args.mode_share}")
    modes = training_modes(args.modes)
    device, main_process, ckpt_path = start_run(args, "checkpoint_stage2.pt")

    codec = load_codec(args.init, device)
    init_nrb = codec.nrb
    init_extra = read_weight_file(args.init, device).get("extra", {}) if init_nrb else {}
    if not codec.quantizer.initialized:
        raise ValueError(f"{args.init} has untrained codebooks")
    named = get_config(args.config)
    if named.stage1_fields() != codec.cfg.stage1_fields():
        raise ValueError(f"{args.init} is not a stage-1 model of configuration {args.config!r}")
    codec.cfg = codec.cfg.with_nrb_of(named)  # the NRB is sized by --config
    if args.nrb_snr == "off":  # the paper's receiver, which is not told the SNR
        codec.cfg = dataclasses.replace(codec.cfg, nrb_snr_input=False,
                                        mmse_hard_decisions=False)
    codec.cfg = dataclasses.replace(codec.cfg, nrb_modes=bool(modes))
    codec.nrb = NoiseReductionBlock(codec.cfg).to(device)
    if init_nrb is None:
        permutations = reorder_mocrvq(codec.quantizer)
    else:  # fine-tuning a stage-2 receiver: reordered already, its NRB to start from
        if "reorder_permutations" not in init_extra:
            raise ValueError(f"{args.init} has an NRB but no reordering permutations")
        permutations = torch.tensor(init_extra["reorder_permutations"])
        missing, unexpected = codec.nrb.load_state_dict(init_nrb.state_dict(), strict=False)
        if unexpected or any(not k.startswith("constellation_embedding") for k in missing):
            raise ValueError(f"{args.init}: its NRB does not fit configuration "
                             f"{args.config!r} (missing {missing}, unexpected {unexpected})")
    for module in (codec.encoder, codec.quantizer, codec.decoder):
        module.requires_grad_(False).eval()
    optimizer = torch.optim.Adam(codec.nrb.parameters(), lr=args.lr, betas=(0.9, 0.99))
    decoder_optimizer = torch.optim.Adam(codec.decoder.parameters(), lr=args.decoder_lr,
                                         betas=(0.9, 0.99))
    lpips = None
    if args.decoder_steps:
        from ...metrics.lpips import LPIPS

        with torch.random.fork_rng(devices=[]):  # the NRB steps draw as without a tail
            lpips = LPIPS().to(device)
    crops = data.RandomCrops(data.load_folder_uint8(args.data), args.crop,
                             crop_generator(args, 0))
    channel = IndexChannel(codec.cfg.entries, "awgn")
    noise = torch.Generator(device=device).manual_seed(args.seed + 1 + 7919 * distributed.rank())

    step = 0
    if args.resume and os.path.exists(ckpt_path):
        state = read_weight_file(ckpt_path, device, what="training checkpoint")
        step = _restore(state, codec, optimizer, crops, args, main_process, ckpt_path)
        if "decoder_optimizer" in state:  # absent in runs that ended before their tail
            decoder_optimizer.load_state_dict(state["decoder_optimizer"])
        if main_process:
            noise.set_state(state["noise_rng"])
        else:
            noise.manual_seed(args.seed + 1 + 7919 * distributed.rank() + step)

    log = open(os.path.join(args.out, "log_stage2.jsonl"), "a")
    total = args.steps + args.decoder_steps
    progress = Progress(total, step)
    stop = StopRule(args)
    levels_all = codec.cfg.levels
    nrb = ddp(codec.nrb, device)
    decoder = None  # wrapped when the decoder-only steps begin
    autocast = mixed_precision(device, args.precision)

    def channel_batch(levels, mode=None):
        """Crops, their noiseless z_q, the received latent before the NRB, Es/N0s; the
        levels on ``mode`` (phy.modes.Mode) or, without one, all on 64-QAM."""
        x = crops.sample(args.batch).to(device)
        snr = torch.empty(x.shape[0], device=device).uniform_(args.snr_min, args.snr_max,
                                                              generator=noise)
        told = snr
        if codec.nrb.snr_input or codec.cfg.mmse_hard_decisions:
            # some samples train the receiver for an unknown SNR
            unknown = torch.rand(snr.shape, device=device, generator=noise) < args.snr_unknown
            told = torch.where(unknown, torch.full_like(snr, float("nan")), snr)
        with torch.no_grad():
            indices, z_q = codec.quantizer.quantize(codec.encoder(x), levels)
            soft = bool(torch.rand(1) < args.soft_fraction)
            if mode is None:
                received = channel(indices, snr, noise, output="soft" if soft else "hard")
            else:
                flat = indices.long().flatten(2)
                received = mode.channel(flat, snr, not soft, noise)
                received = (received.reshape(indices.shape + (codec.cfg.entries,)) if soft
                            else received.reshape(indices.shape).to(torch.uint8))
        return x, z_q, received, told

    def draw_mode(levels):
        """(levels, mode) of a step: with --modes, a --mode-share of steps on one of
        them, the rest on 64-QAM at ``levels``."""
        if modes and float(torch.rand(1, generator=noise, device=device)) < args.mode_share:
            mode = modes[int(torch.randint(len(modes), (1,), generator=noise, device=device))]
            return mode.levels, mode
        return levels, None

    def nrb_step():
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args.steps, args.warmup, args.lr)
        levels, mode = draw_mode(int(torch.randint(1, levels_all + 1, (1,))))
        _, z_q, received, told = channel_batch(levels, mode)
        z_hat = codec.dequantize_received(received, told, mode)  # as the receiver will
        z_r = nrb(z_hat, levels, told, mode) if modes else nrb(z_hat, levels, told)
        per_sample = noise_reduction_loss(z_r, z_q, per_sample=True)
        with torch.no_grad():
            unrefined = noise_reduction_loss(z_hat, z_q, per_sample=True)
        loss = (snr_balanced(per_sample, unrefined, args.balance) if args.balance
                else per_sample.mean())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": per_sample.mean(), "loss_without_nrb": unrefined.mean(),
                "levels": levels, "mode": mode.name if mode else f"L{levels}-qam64"}

    def decoder_step():
        lr = cosine_lr(step - args.steps, args.decoder_steps, 0, args.decoder_lr)
        for group in decoder_optimizer.param_groups:
            group["lr"] = lr
        levels, mode = draw_mode(int(torch.multinomial(level_probs, 1)) + 1)
        x, z_q, received, told = channel_batch(levels, mode)
        clean = torch.rand(x.shape[0], device=device, generator=noise) < args.decoder_clean
        z_in = z_q.clone()
        noisy = (~clean).nonzero().flatten()
        if len(noisy):  # NRB + requantization, only where the receiver's output is used
            z_in[noisy] = codec.received_latent(received[noisy], esn0_db=told[noisy],
                                                mode=mode)
        loss, l1, perceptual = image_loss(decoder, lpips, z_in, x, args.lpips_weight, autocast)
        decoder_optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(codec.decoder.parameters(), args.clip_grad)
            decoder_optimizer.step()
        return {"lr": lr, "loss": loss, "l1": l1, "lpips": perceptual, "levels": levels,
                "clean": clean.sum(), "mode": mode.name if mode else f"L{levels}-qam64"}

    level_probs = level_weights(args.level_weights, levels_all)
    while step < total:
        decoder_only = step >= args.steps
        if decoder_only and decoder is None:
            codec.nrb.requires_grad_(False).eval()
            codec.decoder.requires_grad_(True).train()
            decoder = ddp(codec.decoder, device)
        record = decoder_step() if decoder_only else nrb_step()
        step += 1

        if main_process and (step % args.log_every == 0 or step == total):
            record = {"step": step, "decoder_only": decoder_only, "time": time.time(),
                      **{k: v.item() if torch.is_tensor(v) else v for k, v in record.items()}}
            progress.update(step, f"l1 {record['l1']:.4f} lpips {record['lpips']:.3f}"
                            if decoder_only else f"loss {record['loss']:.4f} "
                            f"(no NRB {record['loss_without_nrb']:.4f})")
            log.write(json.dumps(record) + "\n")
            log.flush()
        stopping = stop(step)
        if main_process and (step % args.checkpoint_every == 0 or step == total
                             or stopping):
            _save_checkpoint(ckpt_path, step, codec, optimizer, crops,
                             noise_rng=noise.get_state(),
                             decoder_optimizer=decoder_optimizer.state_dict())
        if stopping:
            return _stopped_early(main_process, codec, step)

    # new index of each stage-1 index, per level and head: lets the evaluation rebuild
    # the unreordered codec for the ablation
    return _finish(codec, main_process, os.path.join(args.out, "codec.pt"),
                   {"stage": 2, "steps": args.steps, "decoder_steps": args.decoder_steps,
                    "reorder_permutations": permutations.tolist()}, "stage 2")
