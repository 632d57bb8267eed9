"""``semcom`` command line: one subcommand per task."""

import argparse
import sys

from .errors import KNOWN_ERRORS, one_line, show_tracebacks
from .training.loop import add_run_flags


def _installed_version():
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("semcom-codec")
    except (ImportError, PackageNotFoundError):
        from . import __version__

        return __version__


def _cmd_version(args):
    print(f"semcom-codec {_installed_version()}")
    return 0


def _cmd_train(args):
    if args.stage == "deep_jscc":
        from .systems.deep_jscc import train as deep_jscc_train

        deep_jscc_train.train(args)
        return 0
    if args.stage == "vq_deepsc":
        from .systems.vq_deepsc import train as vq_deepsc_train

        vq_deepsc_train.train(args)
        return 0
    from .systems.moc_rvq import train

    if args.stage == "stage1":
        train.train_stage1(args)
    else:
        train.train_stage2(args)
    return 0


def _add_train_parser(sub):
    from .systems.deep_jscc.train import add_train_arguments
    from .systems.vq_deepsc.train import add_train_arguments as add_vq_deepsc_arguments

    train = sub.add_parser("train", help="train a codec system: MOC-RVQ stage 1 "
                                         "(autoencoder + MOC-RVQ) or stage 2 (NRB), deep JSCC, "
                                         "VQ-DeepSC")
    systems = train.add_subparsers(dest="stage", metavar="SYSTEM", required=True)
    moc_rvq = _moc_rvq_train_flags()
    for stage, text in (("stage1", "MOC-RVQ stage 1: autoencoder + MOC-RVQ, no channel"),
                        ("stage2", "MOC-RVQ stage 2: the NRB through the channel")):
        p = systems.add_parser(stage, parents=[moc_rvq], help=text)
        p.set_defaults(func=_cmd_train)
    p = systems.add_parser("deep_jscc", help="perceptual deep JSCC or its MSE twin "
                                             "(analog, channel inside training)")
    add_train_arguments(p)
    p.set_defaults(func=_cmd_train)
    p = systems.add_parser("vq_deepsc", help="VQ-DeepSC: multi-scale VQ autoencoder against "
                                             "a PatchGAN (noiseless, as published)")
    add_vq_deepsc_arguments(p)
    p.set_defaults(func=_cmd_train)


def _moc_rvq_train_flags():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", default="small", help="model configuration (small, large)")
    p.add_argument("--data", default="../shared/data/train256", help="training image folder")
    p.add_argument("--val", default="../shared/data/val_cid22",
                   help="validation image folder ('' for none)")
    p.add_argument("--val-images", type=int, default=8, help="validation images used")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, weights")
    p.add_argument("--init", help="stage 2: the stage-1 codec weights to start from")
    p.add_argument("--steps", type=int, default=15000)
    p.add_argument("--decoder-steps", type=int, default=0,
                   help="steps after --steps that refine the decoder alone: stage 1 on "
                        "the noiseless latents (encoder and codebooks frozen), stage 2 on "
                        "the receiver's output (NRB frozen too)")
    p.add_argument("--decoder-lr", type=float, default=1e-4,
                   help="peak learning rate of the decoder-only steps (cosine)")
    p.add_argument("--decoder-clean", type=float, default=0.9,
                   help="stage 2 decoder-only steps: share of samples decoded from the "
                        "noiseless latent (the rest from the NRB's output)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=7e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--lpips-weight", type=float, default=0.3)
    p.add_argument("--commitment", type=float, default=0.05)
    p.add_argument("--level-weights", default="",
                   help="stage 1: share of samples decoded from L = 1..D levels, e.g. 1,1,1,7")
    p.add_argument("--commitment-levels", choices=["final", "all"], default="final",
                   help="stage 1: commit z to the full-rate z_q only, or to every level's")
    p.add_argument("--clip-grad", type=float, default=1.0, help="gradient norm clipping")
    p.add_argument("--snr-min", type=float, default=-5.0, help="stage 2: lowest Es/N0 dB")
    p.add_argument("--snr-max", type=float, default=30.0, help="stage 2: highest Es/N0 dB")
    p.add_argument("--soft-fraction", type=float, default=0.25,
                   help="stage 2: share of batches received as soft posteriors")
    p.add_argument("--nrb-snr", choices=["on", "off"], default="on",
                   help="stage 2: the receiver uses the Es/N0 (SNR-aware NRB, MMSE code "
                        "vectors for hard decisions); 'off': the paper's receiver")
    p.add_argument("--snr-unknown", type=float, default=0.1,
                   help="stage 2: share of samples whose receiver is told 'SNR unknown'")
    p.add_argument("--modes", default="",
                   help="stage 2: transmission modes the NRB learns beside 64-QAM ('all' or "
                        "names such as L2-psk8,L1-biorth8; default none)")
    p.add_argument("--mode-share", type=float, default=0.5,
                   help="stage 2 with --modes: share of NRB steps on one of them")
    p.add_argument("--balance", type=float, default=0.05,
                   help="stage 2: weigh each sample's loss by 1 / its loss without the NRB, "
                        "floored at this fraction of the batch mean (0: the paper's plain mean)")
    add_run_flags(p)
    return p


def _evaluation_command(module):
    """The handler of a subcommand whose work is ``semcom_codec.evaluation.<module>``'s
    run_cli (imported only when that subcommand runs)."""
    def handler(args):
        import importlib

        return importlib.import_module(f".evaluation.{module}", __package__).run_cli(args)

    return handler


def _add_evaluate_parser(sub):
    p = sub.add_parser("evaluate", help="the model card's table of one trained codec: "
                                        "noiseless and AWGN, with its ablations (a preset "
                                        "of 'semcom eval')")
    p.add_argument("--weights", help="codec weight file, MOC-RVQ or deep JSCC "
                                     "(default: the shipped small MOC-RVQ)")
    p.add_argument("--data", default="../shared/data/kodak", help="image folder")
    p.add_argument("--snr", default="5,10,20",
                   help="comma-separated Es/N0 dB values (a noiseless row comes first)")
    p.add_argument("--quick", action="store_true", help="only the first 4 images")
    p.add_argument("--out", default="",
                   help="run folder, resumable (default: runs/evaluate_<weights name>)")
    p.add_argument("--json", help="also write the rows as JSON here")
    p.add_argument("--markdown", help="also write the table as Markdown here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_evaluation_command("card"))


def _add_eval_parser(sub):
    p = sub.add_parser("eval", help="MOC-RVQ vs JPEG / BPG over LDPC + 64-QAM: sweep, "
                                    "tables, Fig. 3 / Fig. 4 plots, RESULTS.md")
    p.add_argument("--weights", help="codec weight file (default: the shipped small model)")
    p.add_argument("--data", default="../shared/data/kodak", help="image folder")
    p.add_argument("--snr", default="", help="comma-separated Es/N0 dB, 'noiseless' for a "
                                             "point without channel (default -5,0,...,30)")
    p.add_argument("--levels", default="1,2,3,4", help="comma-separated levels L")
    p.add_argument("--schemes", default="",
                   help="comma-separated schemes (default: Fig. 3 at every level, the "
                        "ablation and soft demapping at L4)")
    p.add_argument("--systems", default="",
                   help="comma-separated seed systems (moc-rvq, deep-jscc, deep-jscc-mse), "
                        "each at its CBRs beside every classical row")
    p.add_argument("--mode", default="",
                   help="MOC-RVQ transmission modes to add as rows: auto (the weights' "
                        "Es/N0 table), mode names (L2-psk8, L1-biorth8, ...) or all")
    p.add_argument("--mode-weights", default="",
                   help="MOC-RVQ weights of the --mode rows (default: --weights; the shipped "
                        "moc_rvq_modes has the table auto needs)")
    p.add_argument("--channel", default="awgn", choices=["awgn", "rayleigh", "rician"])
    p.add_argument("--k-factor", type=float, default=1.0, help="Rician K (linear)")
    p.add_argument("--block-length", type=int, default=1, help="symbols per fading block")
    p.add_argument("--images", type=int, default=0, help="use only the first N images")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: first 2 images, Es/N0 0, 10, 20 dB")
    p.add_argument("--out", default="runs/eval", help="run folder (resumable)")
    p.add_argument("--markdown", help="write the report here (e.g. docs/RESULTS.md)")
    p.add_argument("--device", default="cpu", help="where the codecs run (metrics: CPU)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_evaluation_command("compare"))


def _cmd_link_curves(args):
    import shlex

    from .baselines import link, link_curves

    schemes = ([link.Mcs.parse(n) for n in args.schemes.split(",")] if args.schemes
               else link.MCS_TABLE)

    def progress(mcs, entry):
        print(f"{mcs.label:20s} threshold {entry['threshold_db']:6.2f} dB "
              f"(Shannon limit {link_curves.shannon_limit_db(mcs.efficiency):6.2f} dB, "
              f"{len(entry['points'])} points, {entry['seconds']:.0f} s)", flush=True)

    table = link_curves.measure_table(args.frames, args.step, args.seed, schemes, progress)
    link_curves.write(table, "semcom " + shlex.join(args.argv), args.json, args.markdown)
    return 0


def _add_link_curves_parser(sub):
    p = sub.add_parser("link-curves", help="FER / BER curves of every LDPC + QAM scheme "
                                           "over AWGN and the SNR thresholds of the "
                                           "rate-adaptive classical link")
    p.add_argument("--frames", type=int, default=1000,
                   help="codewords per point; a threshold has no error in this many")
    p.add_argument("--step", type=float, default=0.25, help="Es/N0 grid step in dB")
    p.add_argument("--schemes", default="", help="comma-separated, e.g. qpsk-12,64qam-56 "
                                                 "(default: all sixteen)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the table here (the shipped one: "
                                  "codec/semcom_codec/baselines/thresholds.json)")
    p.add_argument("--markdown", help="write the curves as Markdown here")
    p.set_defaults(func=_cmd_link_curves)


def _add_grid_parser(sub):
    p = sub.add_parser("grid", help="one image's crop as each system and the classical "
                                    "envelope deliver it at a few SNRs, as one PNG")
    p.add_argument("--data", default="../shared/data/kodak", help="image folder")
    p.add_argument("--image", default="kodim23.png", help="file name in --data")
    p.add_argument("--level", type=int, default=4, choices=range(1, 5),
                   help="MOC-RVQ level L: every row sends its L/96 symbols per sample")
    p.add_argument("--snr", default="0,5,10,20", help="comma-separated Es/N0 dB")
    p.add_argument("--crop", default="", help="TOP,LEFT,SIZE (default: the centre 256)")
    p.add_argument("--seed", type=int, default=0, help="semcom eval's seed")
    p.add_argument("--out", required=True, help="PNG to write")
    p.set_defaults(func=_evaluation_command("grid"))


def _add_modes_parser(sub):
    p = sub.add_parser("modes", help="measure a MOC-RVQ model's Es/N0 -> transmission mode "
                                     "table on validation images and write it into a copy "
                                     "of its weight file (what --mode auto picks from)")
    p.add_argument("--weights", required=True, help="MOC-RVQ weight file")
    p.add_argument("--data", default="../shared/data/val_cid22",
                   help="training or validation image folder (never the test set)")
    p.add_argument("--images", type=int, default=16, help="first N images (0: all)")
    p.add_argument("--snr", default="-5:30:1", help="Es/N0 grid: start:stop:step or a,b,c")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", help="also write every mode's means and the table here")
    p.add_argument("--save", help="weight file to write with the table (may be --weights)")
    p.set_defaults(func=_evaluation_command("mode_table"))


def _add_vq_deepsc_parser(sub):
    p = sub.add_parser("vq-deepsc", help="VQ-DeepSC on its own ground: the paper link "
                                         "(LDPC 1/3, 16-QAM) against JPEG over the same "
                                         "link, the upper bound, codebook use")
    p.add_argument("--weights", default="", help="paper-link VQ-DeepSC weights (default: "
                                                 "the shipped vq_deepsc)")
    p.add_argument("--upper-bound", default="", help="the unquantized upper bound's weights")
    p.add_argument("--data", default="../shared/data/kodak", help="image folder")
    p.add_argument("--images", type=int, default=0, help="first N images (0: all)")
    p.add_argument("--snr", default="0,5,10,15,20", help="comma-separated Es/N0 dB")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True, help="run folder: results.json, JPEG cache")
    p.add_argument("--markdown", help="also write the report here")
    p.set_defaults(func=_evaluation_command("vq_deepsc_paper"))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="semcom",
        description="MOC-RVQ semantic image codec for gr-semcom (PyTorch, no GNU Radio).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the codec package version")
    p.set_defaults(func=_cmd_version)
    _add_train_parser(sub)
    _add_evaluate_parser(sub)
    _add_eval_parser(sub)
    _add_link_curves_parser(sub)
    _add_vq_deepsc_parser(sub)
    _add_grid_parser(sub)
    _add_modes_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for records of the exact command
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except KNOWN_ERRORS as err:  # bad input: one line naming the file and the problem
        if show_tracebacks():
            raise
        print(f"semcom {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"semcom {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
