"""``semcom`` command line: one subcommand per task (train and eval come later)."""

import argparse
import sys


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


def build_parser():
    parser = argparse.ArgumentParser(
        prog="semcom",
        description="MOC-RVQ semantic image codec for gr-semcom (PyTorch, no GNU Radio).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the codec package version")
    p.set_defaults(func=_cmd_version)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
