"""Training-loop infrastructure shared by every system's recipes: run set-up, learning
rate schedule, progress line, stop rule, atomic checkpoints, DDP wrapping."""

import math
import os
import sys
import time

import torch

from . import distributed


def add_run_flags(p):
    """Flags every training recipe takes: seed, device, threads, logging, checkpoints,
    resuming and stopping early."""
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="bf16 autocast of convolutions and matrix products (weights and "
                        "optimiser stay fp32); auto: bf16 on CUDA, fp32 on CPU")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    p.add_argument("--stop-at", type=int, default=0,
                   help="stop (with a checkpoint) at this step; the schedule stays --steps")
    p.add_argument("--time-limit", type=float, default=0,
                   help="stop (with a checkpoint) after this many minutes")


class Progress:
    """One status line on stderr, rewritten in place; plain lines when not a terminal."""

    def __init__(self, total, start_step):
        self.total, self.start_step, self.t0 = total, start_step, time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, step, text):
        done = step - self.start_step
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        line = (f"step {step}/{self.total} {text} {rate:.2f} it/s "
                f"eta {eta / 60:.0f} min")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)


class StopRule:
    """Ends a run early (with a checkpoint) at --stop-at or after --time-limit minutes,
    so that one schedule of --steps can be split over sessions or short GPU calls."""

    def __init__(self, args):
        self.stop_at = args.stop_at
        self.deadline = time.monotonic() + 60 * args.time_limit if args.time_limit else None

    def __call__(self, step):
        if self.stop_at and step >= self.stop_at:
            return True
        if self.deadline is None:
            return False
        # Every process must stop at the same step: process 0's clock decides.
        late = torch.tensor([time.monotonic() >= self.deadline], dtype=torch.uint8)
        return bool(distributed.broadcast_(late)[0])


def ddp(module, device):
    """DistributedDataParallel around a trainable module when running under torchrun."""
    if not distributed.is_distributed():
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def mixed_precision(device, precision):
    """The autocast context of --precision on this device. On a CPU with AVX512-BF16
    bf16 halves a convolutional step's time; "auto" keeps CPUs at fp32 so that the
    commands of weights trained before the flag existed reproduce them."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    if precision == "bf16" and device.type == "cpu" and \
            not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise ValueError("--precision bf16: this CPU has no native bf16 (AVX512-BF16 / AMX); "
                         "use --precision fp32")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def crop_generator(args, step):
    """Process 0 keeps the checkpointed stream; the others derive theirs from the step."""
    rank = distributed.rank()
    return torch.Generator().manual_seed(args.seed + 1_000_003 * rank + (step if rank else 0))


def cosine_lr(step, total, warmup, base):
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def start_run(args, checkpoint_name):
    """Seeds, threads, device / process group and run folder of a training stage."""
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.setup(args.device)
    os.makedirs(args.out, exist_ok=True)
    return device, distributed.rank() == 0, os.path.join(args.out, checkpoint_name)


def save_atomic(state, path):
    """torch.save through a temporary file: a crash never leaves half a checkpoint."""
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
