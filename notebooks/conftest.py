"""nbval runs the course notebooks in smoke mode unless GAN_KIT_MODE says otherwise.

The committed notebooks are the teacher's edition: every exercise check must pass there, so
checks are strict (a failing one raises). tests/test_exercises.py runs the student edition with
checks that only report.
"""

import os

os.environ.setdefault("GAN_KIT_MODE", "smoke")
os.environ.setdefault("GAN_KIT_CHECKS", "strict")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
