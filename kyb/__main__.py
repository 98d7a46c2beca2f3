import sys

from kyb.main import main

sys.exit(main())
