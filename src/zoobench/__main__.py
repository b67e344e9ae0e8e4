"""``python -m zoobench``: the same as the ``zoobench`` command."""

from zoobench.cli import main

main()
