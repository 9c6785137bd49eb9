"""``python -m improved_gan`` is the ``improved-gan`` command."""

import sys

from improved_gan.cli.main import main

sys.exit(main())
