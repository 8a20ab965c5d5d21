"""``python -m wearable.cli``: the ``wearable`` console script."""

from wearable.cli import main

raise SystemExit(main())
