#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The radio ends without their radios: each fails when made, in one line naming the
radio that was not found. Run in a network namespace of its own (unshare -n), so that no
driver's search for network radios leaves this machine."""

import shutil
import subprocess
import sys
import unittest

from gnuradio import gr_unittest

# USB-only device arguments: nothing here looks for radios on a network
CASES = (("usrp", "type=b200", "no USRP found for 'type=b200'", "uhd_find_devices"),
         ("pluto", "usb:", "no PlutoSDR found for 'usb:'", "iio_info -s"),
         ("soapy", "driver=hackrf", "no SoapySDR device found for 'driver=hackrf'",
          "SoapySDRUtil --find"))


def isolated(code):
    """``code`` run by this Python in a network namespace with no interfaces up."""
    return subprocess.run(["unshare", "-n", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120)


def can_isolate():
    if shutil.which("unshare") is None:
        return False
    return isolated("pass").returncode == 0


@unittest.skipUnless(can_isolate(), "unshare -n is not available (needs root)")
class qa_radios(gr_unittest.TestCase):
    def test_each_end_without_its_radio_names_it(self):
        for radio, device, words, look in CASES:
            for end in ("ota_radio_tx", "ota_radio_rx"):
                with self.subTest(radio=radio, end=end):
                    result = isolated(
                        "from gnuradio import semcom\n"
                        "try:\n"
                        f"    semcom.{end}(radio={radio!r}, device={device!r})\n"
                        "except semcom.RadioNotFound as err:\n"
                        "    print('RadioNotFound:', err)\n")
                    self.assertEqual(result.returncode, 0, result.stderr)
                    line = [l for l in result.stdout.splitlines()
                            if l.startswith("RadioNotFound:")]
                    self.assertEqual(len(line), 1, result.stdout + result.stderr)
                    self.assertIn(words, line[0])
                    self.assertIn(look, line[0])

    def test_each_radio_flowgraph_stops_at_start_naming_its_radio(self):
        import os
        import tempfile

        from qa_grc_examples import EXAMPLES, flowgraph_id

        real = "/usr/bin/grcc" if os.path.isfile("/usr/bin/grcc") else shutil.which("grcc")
        env = dict(os.environ, GRC_BLOCKS_PATH=os.path.join(EXAMPLES, "..", "grc"))
        with tempfile.TemporaryDirectory(prefix="qa_radios_") as folder:
            names = [(f"ota_{radio}_{end}.grc", device, words) for radio, device, words, _
                     in CASES for end in ("tx", "rx")]
            names.append(("ota_usrp_loopback.grc",) + CASES[0][1:3])
            for name, device, words in names:
                with self.subTest(name):
                    built = subprocess.run([sys.executable, real, "-o", folder,
                                            os.path.join(EXAMPLES, name)], env=env,
                                           capture_output=True, text=True, timeout=120)
                    self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
                    script = os.path.join(folder, flowgraph_id(name) + ".py")
                    ran = subprocess.run(["unshare", "-n", sys.executable, script,
                                          "--device", device], capture_output=True,
                                         text=True, timeout=120)
                    self.assertNotEqual(ran.returncode, 0)
                    last = ran.stderr.strip().splitlines()[-1]
                    self.assertIn("RadioNotFound: " + words, last)

    def test_bad_settings_are_refused_before_any_driver(self):
        from gnuradio import semcom

        with self.assertRaisesRegex(ValueError, "radio must be one of usrp, pluto, soapy"):
            semcom.radio_sink("rtlsdr")
        with self.assertRaisesRegex(ValueError, "LO offset is a USRP"):
            semcom.radio_source("pluto", lo_offset=1e6)


if __name__ == "__main__":
    gr_unittest.run(qa_radios)
