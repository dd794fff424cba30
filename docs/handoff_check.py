#!/usr/bin/env python3
"""Checks the BI hand-off calls of docs/warehouse.md with pyarrow and pandas.

    python3 docs/handoff_check.py <warehouse>

For every day of <warehouse>/fact_billing_event it compares what each documented call reads (rows, and the
exact sum of `amount` per billing_source, event_type and currency) with the day's _manifest.json totals, and
checks that the plain pq.read_table(dir) still fails as the docs say (event_date is both a file column and the
folder name). Prints one JSON line; exit 0 when every documented call matches, 1 otherwise, 3 when pyarrow or
pandas is missing (test/warehouse/handoff.test.ts runs it when they are installed).
"""
import json
import os
import sys
from decimal import Decimal

try:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    import pandas as pd
except ImportError as e:  # pragma: no cover
    print(json.dumps({"ok": False, "error": f"needs pyarrow and pandas: {e}"}))
    sys.exit(3)


def manifest_totals(table_dir):
    want = {}
    for name in sorted(os.listdir(table_dir)):
        path = os.path.join(table_dir, name, "_manifest.json")
        if not name.startswith("event_date=") or not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        for t in doc.get("totals", []):
            key = (t["billing_source"], t["event_type"], t["currency"])
            rows, amount = want.get(key, (0, Decimal(0)))
            want[key] = (rows + t["rows"], amount + Decimal(t["amount_sum"]))
    return want


def totals_of(df):
    got = {}
    for rec in df[["billing_source", "event_type", "currency", "amount"]].itertuples(index=False):
        key = (rec.billing_source, rec.event_type, rec.currency)
        rows, amount = got.get(key, (0, Decimal(0)))
        got[key] = (rows + 1, amount + Decimal(rec.amount))
    return got


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    table_dir = os.path.join(sys.argv[1], "fact_billing_event")
    want = manifest_totals(table_dir)
    calls = {
        "pyarrow.dataset.dataset(dir, format='parquet')": lambda: ds.dataset(table_dir, format="parquet").to_table().to_pandas(),
        "pq.read_table(dir, partitioning=None)": lambda: pq.read_table(table_dir, partitioning=None).to_pandas(),
        "pd.read_parquet(dir, partitioning=None)": lambda: pd.read_parquet(table_dir, partitioning=None),
    }
    results = {}
    ok = True
    for name, call in calls.items():
        try:
            df = call()
            same = totals_of(df) == want
            results[name] = {"rows": len(df), "matches_manifest": same, "amount_type": str(type(df["amount"].iloc[0]).__name__) if len(df) else None}
            ok = ok and same
        except Exception as e:  # a documented call must work
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            ok = False
    try:
        pq.read_table(table_dir)
        results["pq.read_table(dir) (documented to fail)"] = {"failed": False, "note": "it works now: update docs/warehouse.md"}
    except Exception as e:
        results["pq.read_table(dir) (documented to fail)"] = {"failed": True, "error": f"{type(e).__name__}: {str(e)[:200]}"}
    print(json.dumps({"ok": ok, "manifest_rows": sum(r for r, _ in want.values()), "calls": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
