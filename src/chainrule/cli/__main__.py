"""`python -m chainrule.cli ...`: the `chainrule` command (how --nproc starts its ranks)."""

from chainrule.cli import main

raise SystemExit(main())
