"""Point-in-time training-data retrieval: the chosen Feast offline store (DuckDB) vs a plain merge_asof join.

For each size it builds a fresh local store (synthetic data, validated ingestion, apply), asks Feast for the
credit_risk_v1 feature service on every application, checks the rows and values against the reference join, and
prints both times and their ratio. ``--file-store`` also times Feast's file (dask) offline store.

    python benchmarks/retrieval.py                       # 100k and 1M entity rows
    python benchmarks/retrieval.py --rows 100000 --file-store
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(rows: int, stores: list[str]) -> None:
    import pandas as pd

    from pipelines.features import schema
    from pipelines.features.generate import generate, reference_join
    from pipelines.features.store import LocalFeatureStore

    warnings.simplefilter("ignore")  # feast/ibis deprecation chatter; imports above reset the filters
    data = generate(rows)
    entities = data["loan_applications"][[schema.ENTITY_KEY, schema.TIMESTAMP, schema.LABEL]]
    tables = {t: f.drop(columns=[schema.LABEL], errors="ignore") for t, f in data.items()}
    t0 = time.perf_counter()
    expected = reference_join(entities, tables)
    reference_s = time.perf_counter() - t0
    print(f"{len(entities):>9,} entity rows  reference merge_asof   {reference_s:7.2f} s")
    for kind in stores:
        with tempfile.TemporaryDirectory() as tmp:
            store = LocalFeatureStore(Path(tmp) / "repo", offline_store=kind)
            for table, frame in data.items():
                store.ingest(table, frame)
            store.apply()
            got = store.historical(entities)
            keys = [schema.ENTITY_KEY, schema.TIMESTAMP]
            correct = got.rows_got == got.rows_asked
            if correct:
                actual = got.frame.sort_values(keys, ignore_index=True)
                want = expected[actual.columns].sort_values(keys, ignore_index=True)
                try:
                    pd.testing.assert_frame_equal(actual, want, check_dtype=False)
                except AssertionError:
                    correct = False
            print(
                f"{'':>9}              feast {kind:<6} store   {got.seconds:7.2f} s  ratio {got.seconds / reference_s:5.1f}x"
                f"  rows asked {got.rows_asked:,} got {got.rows_got:,}  matches reference: {'yes' if correct else 'NO'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="entity rows per size")
    parser.add_argument("--file-store", action="store_true", help="also time Feast's file offline store")
    args = parser.parse_args()
    for rows in args.rows:
        run(rows, ["duckdb", "file"] if args.file_store else ["duckdb"])


if __name__ == "__main__":
    main()
