import sys

from gan_kit.cli import main

sys.exit(main())
