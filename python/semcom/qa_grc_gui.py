#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""GNU Radio Companion as a user sees it, under Xvfb: started through the venv's launcher
(next to this interpreter), it opens and generates every example without an error, and
loopback_awgn_qt.grc, run from GRC with F6, shows the sent and the received photo. Also
the venv's grcc launcher, whose output runs on the venv. Both launchers find the module's
installed blocks (make build installs them), as a user's GRC does."""

import glob
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import yaml
from gnuradio import gr_unittest
from PIL import Image, ImageGrab

from qa_grc_examples import flowgraph_id

SOURCE_DIR = os.environ.get(
    "SEMCOM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(SOURCE_DIR, "examples")
BIN = os.path.dirname(sys.executable)
LAUNCHER, GRCC = os.path.join(BIN, "gnuradio-companion"), os.path.join(BIN, "grcc")
QT_EXAMPLE = "loopback_awgn_qt.grc"
# GRC on the left, the flowgraph on the right (tall enough for the whole image view)
SCREEN, GRC_WINDOW, VIEW_WINDOW = (1800, 1000), (0, 0, 800, 1000), (800, 0, 1000, 1000)
# Set by GR_ADD_TEST for the build tree; GRC gets a user's environment instead.
TEST_TREE_VARS = ("GRC_BLOCKS_PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "GR_DONT_LOAD_PREFS",
                  "VOLK_GENERIC", "QT_QPA_PLATFORM")
# What GRC prints for a block file or flowgraph it cannot load or generate ("Error:",
# ">>> Failure", "[ERROR]", "[WARNING]" from its block loader) and a flowgraph's traceback.
GRC_ERRORS = re.compile(r"error|failure|traceback|\[WARNING\]", re.IGNORECASE)
GENERATED = re.compile(r"^Generating: '(.+)'$", re.MULTILINE)
RUN_ENDED = re.compile(r"^>>> Done.*$", re.MULTILINE)  # after "Executing:", with the status
MAX_SIDE = 384             # the example's image view scales images to at most this side
MIN_SENT_PSNR = 35.0       # dB, the sent pane against the photo scaled here (about 45)
MIN_RECEIVED_PSNR = 15.0   # dB, the received pane at Es/N0 10 dB (about 22; a plain pane 11)


def wait_for(condition, timeout, what, details=lambda: "", interval=0.2):
    """Polls condition() until it returns something true, which it returns."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{details()}")
        time.sleep(interval)


def group_members(pgid):
    """PIDs of the live (not zombie) processes of a process group, from /proc."""
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                state, _, group = f.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            pids.append(int(stat.split("/")[2]))
    return pids


def kill_group(proc):
    """Ends what is left of the process group that proc leads (SIGTERM, then SIGKILL after
    5 s), and reaps proc."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if group_members(proc.pid):
            os.killpg(proc.pid, sig)
        try:
            wait_for(lambda: proc.poll() is not None and not group_members(proc.pid), 5,
                     "the processes to end")
            return
        except AssertionError:
            pass
    proc.wait(timeout=10)


def qt_scaled(image, max_side):
    """The image as the view shows it: Qt's KeepAspectRatio size (integer division), and
    Hamming resampling, the closest here to Qt's smooth scaling."""
    width, height = image.size
    if max(width, height) <= max_side:
        return image
    size = ((max_side, height * max_side // width) if width >= height
            else (width * max_side // height, max_side))
    return image.resize(size, Image.HAMMING)


def ncc_map(image, template):
    """Normalised cross-correlation of a grey template at every position inside a grey image."""
    h, w = template.shape
    t = template - template.mean()
    shape = (image.shape[0] + h - 1, image.shape[1] + w - 1)
    corr = np.fft.irfft2(np.fft.rfft2(image, shape) * np.fft.rfft2(t[::-1, ::-1], shape),
                         shape)[h - 1:image.shape[0], w - 1:image.shape[1]]

    def window_sums(a):
        c = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return c[h:, w:] - c[:-h, w:] - c[h:, :-w] + c[:-h, :-w]

    variance = window_sums(image ** 2) - window_sums(image) ** 2 / (h * w)
    flat = variance < 1.0  # a plain background matches nothing
    ncc = corr / np.sqrt(np.where(flat, 1.0, variance) * (t ** 2).sum())
    ncc[flat] = 0.0
    return ncc


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


def find_sent_and_received(screen, photo):
    """(x, y, PSNR) of the best match of the photo on the screen (the sent pane) and of the
    best one elsewhere (the received pane), both RGB PSNR against the photo."""
    grey = lambda im: np.asarray(im.convert("L"), np.float64)
    ncc = ncc_map(grey(screen), grey(photo))
    h, w = ncc.shape[0], ncc.shape[1]
    rgb_screen, rgb_photo = np.asarray(screen.convert("RGB")), np.asarray(photo.convert("RGB"))
    ph, pw = rgb_photo.shape[:2]
    found = []
    for _ in range(2):
        y, x = np.unravel_index(np.argmax(ncc), ncc.shape)
        found.append((int(x), int(y), psnr(rgb_screen[y:y + ph, x:x + pw], rgb_photo)))
        ncc[max(0, y - ph):min(h, y + ph), max(0, x - pw):min(w, x + pw)] = -1.0
    return sorted(found, key=lambda f: -f[2])


class qa_grc_gui(gr_unittest.TestCase):
    def setUp(self):
        for launcher in (LAUNCHER, GRCC):
            self.assertTrue(os.access(launcher, os.X_OK), f"{launcher} missing: make build")
        tmp = tempfile.TemporaryDirectory(prefix="qa_grc_gui_")
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.env = {k: v for k, v in os.environ.items() if k not in TEST_TREE_VARS}
        runtime = os.path.join(self.dir, "runtime")
        os.mkdir(runtime, 0o700)
        # GRC warns once, in a modal dialog, that its terminal is "missing" (it tests the
        # bare name as a path); a fresh preferences file that has already warned.
        prefs = os.path.join(self.dir, "grc.conf")
        with open(prefs, "w") as f:
            f.write("[main]\nxterm_missing = xterm\n")
        # Qt's window geometry (QSettings) goes to XDG_CONFIG_HOME: keep it out of $HOME.
        self.env.update(PYTHONUNBUFFERED="1", XDG_RUNTIME_DIR=runtime,
                        XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                        GRC_PREFS_PATH=prefs, GR_CONF_GRC_XTERM_EXECUTABLE="xterm")

    def start_xvfb(self):
        """A new X server on a free display: Xvfb picks it and, once ready, writes its number
        and then a newline (it dies if the pipe is closed before the newline)."""
        read, write = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "{}x{}x24".format(*SCREEN),
             "-nolisten", "tcp", "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(write)
        self.addCleanup(kill_group, xvfb)
        number, deadline = b"", time.monotonic() + 30
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            if select.select([read], [], [], 1)[0]:
                chunk = os.read(read, 16)
                if not chunk:
                    break
                number += chunk
        os.close(read)
        self.assertTrue(number.endswith(b"\n") and number.strip().isdigit(),
                        f"Xvfb did not start ({number!r})")
        return ":" + number.decode().strip()

    def start_grc(self, paths):
        """GRC through the launcher on a new X server, its console (stdout and stderr)
        into a file; returns GRC's main window."""
        for tool in ("Xvfb", "xdotool"):
            self.assertTrue(shutil.which(tool), f"{tool} missing: make test installs it")
        self.display = self.env["DISPLAY"] = self.start_xvfb()
        self.console_path = os.path.join(self.dir, "grc_console.txt")
        with open(self.console_path, "w") as console:
            self.grc = subprocess.Popen([LAUNCHER] + paths, cwd=self.dir, env=self.env,
                                        stdout=console, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.addCleanup(kill_group, self.grc)
        return self.window("--pid", str(self.grc.pid))

    def console(self):
        with open(self.console_path) as f:
            return f.read()

    def run_ended(self):
        """GRC's line for the end of the flowgraph it executed, if it has ended."""
        console = self.console()
        return "Executing:" in console and RUN_ENDED.search(console.split("Executing:")[-1])

    def details(self):
        return "GRC console:\n" + self.console()

    def xdotool(self, *args):
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                              text=True, timeout=30)

    def window(self, *search, timeout=60):
        """The first visible X window that `xdotool search` finds, once there is one."""
        def find():
            if self.grc.poll() is not None:
                raise AssertionError(f"GRC exited ({self.grc.returncode})\n{self.details()}")
            if self.run_ended():
                raise AssertionError(f"the flowgraph ended\n{self.details()}")
            return (self.xdotool("search", "--onlyvisible", *search).stdout.split() or [None])[0]
        return wait_for(find, timeout, f"a window {search}", self.details)

    def place(self, window, x, y, width, height):
        """Moves and resizes a window (there is no window manager to do it)."""
        result = self.xdotool("windowsize", "--sync", window, str(width), str(height),
                              "windowmove", "--sync", window, str(x), str(y))
        self.assertEqual(result.returncode, 0, result.stderr)

    def key(self, window, key):
        result = self.xdotool("windowfocus", "--sync", window, "key", "--clearmodifiers", key)
        self.assertEqual(result.returncode, 0, result.stderr)

    def generated(self):
        return GENERATED.findall(self.console())

    def grcc_report(self, names):
        """What grcc (the venv's launcher) says about flowgraphs GRC would not generate."""
        report = ""
        for name in names:
            result = subprocess.run([GRCC, "-o", self.dir, os.path.join(self.dir, name)],
                                    env=self.env, capture_output=True, text=True, timeout=120)
            report += f"grcc {name}:\n{result.stdout}{result.stderr}\n"
        return report

    def quit_grc(self, window):
        """Ctrl+Q, as a user closes GRC; then nothing of its process group is left."""
        self.key(window, "ctrl+q")
        self.assertEqual(self.grc.wait(timeout=30), 0, self.details())
        wait_for(lambda: not group_members(self.grc.pid), 30, "GRC's processes to end")

    def test_every_example_opens_and_generates_without_errors(self):
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "*.grc")))
        self.assertIn(QT_EXAMPLE, names)
        for name in names:
            shutil.copy(os.path.join(EXAMPLES, name), self.dir)
        scripts = {flowgraph_id(name) + ".py": name for name in names}  # what GRC writes
        window = self.start_grc([os.path.join(self.dir, name) for name in names])
        # F5 generates the current tab, which GRC refuses while a block has an error;
        # Ctrl+W closes the tab and brings up the next.
        for _ in names:
            count = len(self.generated())
            self.key(window, "F5")
            try:
                wait_for(lambda: len(self.generated()) > count, 30,
                         "GRC to generate the flowgraph of its current tab", self.details)
            except AssertionError as err:
                done = {os.path.basename(p) for p in self.generated()}
                pending = sorted(name for script, name in scripts.items() if script not in done)
                raise AssertionError(f"{err}\n{self.grcc_report(pending)}") from None
            self.key(window, "ctrl+w")
        generated = self.generated()
        self.assertEqual(sorted(os.path.basename(p) for p in generated), sorted(scripts),
                         self.details())
        for path in generated:
            self.assertTrue(os.path.isfile(path), path)
        self.assertIsNone(GRC_ERRORS.search(self.console()), self.details())
        self.quit_grc(window)

    def test_loopback_qt_runs_from_grc_and_shows_both_images(self):
        from semcom_codec.images import default_image_path

        grc_file = shutil.copy(os.path.join(EXAMPLES, QT_EXAMPLE), self.dir)
        with open(grc_file) as f:
            title = yaml.safe_load(f)["options"]["parameters"]["title"]
        with Image.open(default_image_path()) as sent:
            photo = qt_scaled(sent.convert("RGB"), MAX_SIDE)
        window = self.start_grc([grc_file])
        self.place(window, *GRC_WINDOW)
        self.key(window, "F6")
        view = self.window("--name", re.escape(title), timeout=120)
        self.place(view, *VIEW_WINDOW)
        x, y, width, height = VIEW_WINDOW
        shot = os.path.join(self.dir, "grc_loopback_awgn_qt.png")
        measured = []

        def both_shown():
            if self.run_ended():
                raise AssertionError(f"the flowgraph ended\n{self.details()}")
            screen = ImageGrab.grab(xdisplay=self.display)
            measured[:] = find_sent_and_received(screen.crop((x, y, x + width, y + height)),
                                                 photo)
            (_, _, sent), (_, _, received) = measured
            if sent >= MIN_SENT_PSNR and received >= MIN_RECEIVED_PSNR:
                screen.save(shot)
                return True
            return False

        wait_for(both_shown, 120, "the sent and the received image",
                 lambda: f"(x, y, PSNR) found: {measured}\n{self.details()}", interval=1.0)
        if os.environ.get("SEMCOM_SCREENSHOT"):
            os.makedirs(os.path.dirname(os.path.abspath(os.environ["SEMCOM_SCREENSHOT"])),
                        exist_ok=True)
            shutil.copyfile(shot, os.environ["SEMCOM_SCREENSHOT"])
        (sent_x, sent_y, sent_psnr), (received_x, received_y, received_psnr) = measured
        print(f"\nGRC run: sent pane {sent_psnr:.1f} dB, received pane {received_psnr:.1f} dB "
              f"PSNR against the photo", file=sys.stderr)
        self.assertGreater(received_x, sent_x + photo.width // 2, "received beside the sent")
        self.assertLess(abs(received_y - sent_y), 20, "received beside the sent")
        # F7 stops the flowgraph; GRC reports its end (with its exit status unless 0).
        self.key(window, "F7")
        ended = wait_for(self.run_ended, 30, "the flowgraph to stop", self.details)
        self.assertEqual(ended.group(), ">>> Done", self.details())
        self.assertIsNone(GRC_ERRORS.search(self.console()), self.details())
        self.quit_grc(window)

    def test_grcc_launcher_output_runs_on_the_venv(self):
        from semcom_codec.images import default_image_path

        result = subprocess.run(
            [GRCC, "-o", self.dir, os.path.join(EXAMPLES, "loopback_awgn.grc")], env=self.env,
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        out = os.path.join(self.dir, "received")
        result = subprocess.run([sys.executable, os.path.join(self.dir, "loopback_awgn_grc.py"),
                                 "--out-dir", out], env=self.env, capture_output=True,
                                text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        with Image.open(os.path.join(out, "frame_000000.png")) as received, \
                Image.open(default_image_path()) as sent:
            self.assertEqual(received.size, sent.size)


if __name__ == "__main__":
    gr_unittest.run(qa_grc_gui)
