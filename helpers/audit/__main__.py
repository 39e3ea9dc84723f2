"""``python -m helpers.audit MODEL.keras --inputs ids.npy``: the padding audit from the command line.

Taught in chapter 15 (Audit your own model). See :mod:`helpers.audit.cli`.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no C++ log lines

from helpers.audit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
