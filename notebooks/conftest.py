"""nbval runs the course notebooks in smoke mode unless GAN_KIT_MODE says otherwise."""

import os

os.environ.setdefault("GAN_KIT_MODE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
