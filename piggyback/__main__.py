import sys

from piggyback.cli import main

sys.exit(main())
