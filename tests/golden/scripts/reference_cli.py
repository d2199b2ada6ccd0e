#!/usr/bin/env python3
"""Run the numpy reference like the migfit CLI: reference_cli.py fit|twopart DATA.csv ARGS --format json.

Prints migfit-shaped JSON from migref.py. Handy for comparing a single case by hand and
used to test the Rust harness (tests/golden.rs) without migfit.
"""
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import migref  # noqa: E402
from generate import dumps17  # noqa: E402


def main(argv):
    command, data, args = argv[0], argv[1], list(argv[2:])
    if "--format" in args:
        i = args.index("--format")
        del args[i:i + 2]
    df = pd.read_csv(data, na_values=["", "NA", "."], keep_default_na=False)
    migref.CHECK_NUMERIC = False  # generate.py does the check
    run = migref.run_fit if command == "fit" else migref.run_twopart
    res, _, _ = run(df, args)
    print(dumps17(res))


if __name__ == "__main__":
    main(sys.argv[1:])
