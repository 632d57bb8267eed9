"""The console entry point, and that the codec never pulls in GNU Radio."""

import subprocess
import sys

import pytest

from semcom_codec import cli


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "version" in capsys.readouterr().out


def test_version(capsys):
    assert cli.main(["version"]) == 0
    assert "semcom-codec" in capsys.readouterr().out


def test_no_command_is_an_error():
    assert cli.main([]) == 2


def test_package_does_not_import_gnuradio():
    code = ("import sys, semcom_codec, semcom_codec.cli; "
            "sys.exit(1 if any(m.split('.')[0] == 'gnuradio' for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
