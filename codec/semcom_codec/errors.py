"""The project's known errors, and how every entry point reports one: a single line.

Bad input (a missing or unreadable image, a folder without images, a decompression
bomb, an image too small for a metric, a bad or hostile weight file, a missing device)
raises one of KNOWN_ERRORS with a message naming the file and the problem. The CLI, the
examples and the GNU Radio blocks print or log ``one_line(err)`` instead of a traceback;
SEMCOM_TRACEBACK=1 shows the traceback anyway, for debugging.
"""

import os
import pickle


class ImageTooLarge(ValueError):
    """An image (a file, or a frame header's size) above the documented pixel limit."""


class MetricUndefined(ValueError):
    """A metric asked of an image smaller than the metric's window."""


class BadWeightFile(ValueError):
    """A weight file that is not what its loader expects (foreign, corrupt, hostile)."""


# OSError covers missing files and folders; RuntimeError a missing device (no CUDA GPU);
# MemoryError an input that is legal but too large for this machine.
KNOWN_ERRORS = (OSError, ValueError, RuntimeError, MemoryError, pickle.UnpicklingError)


def one_line(err):
    """The message of ``err`` on one line (newlines and runs of spaces collapsed)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


def show_tracebacks():
    return os.environ.get("SEMCOM_TRACEBACK", "") not in ("", "0")
