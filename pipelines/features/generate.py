"""A deterministic, seeded synthetic credit-risk dataset, realistic enough that point-in-time correctness matters.

Applicants update their profile and get new bureau snapshots over two years; each application's default risk
depends on the values *as of the application time*, so a join that leaks later snapshots trains a worse model.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from pipelines.features.schema import AGE_BANDS, ENTITY_KEY, GENDERS, HOME_OWNERSHIP, LABEL, LOAN_TERMS, TIMESTAMP

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730
MIN_ROWS, MAX_ROWS = 1_000, 2_000_000


def _times(start_ns: np.ndarray, offsets_days: np.ndarray) -> pd.DatetimeIndex:
    seconds = np.round(offsets_days * 86_400).astype("int64")
    return pd.to_datetime(start_ns + seconds * 1_000_000_000, utc=True)


def generate(rows: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """About ``rows`` loan applications plus the profile and bureau history they are joined with, keyed by table."""
    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")
    rng = np.random.default_rng(seed)
    n = max(1, int(rows / 1.6))
    ids = np.arange(100_000, 100_000 + n, dtype="int64")
    start_ns = pd.Timestamp(START).value
    onboard = rng.uniform(0, SPAN_DAYS * 0.6, n)  # days after START

    # Profile: a first version at onboarding, sometimes an update (income changes) later.
    age_idx = rng.choice(len(AGE_BANDS), n, p=[0.14, 0.30, 0.31, 0.18, 0.07])
    income0 = np.exp(rng.normal(11.6, 0.55, n)) * np.array([0.6, 0.9, 1.15, 1.1, 0.8])[age_idx]
    employment0 = np.clip(rng.gamma(2.0, 2.0 + age_idx, n), 0, 45)
    home = rng.choice(len(HOME_OWNERSHIP), n, p=[0.45, 0.35, 0.20])
    # Gender: independent of every other column and of default risk, drawn from its own stream so that adding it
    # left every other generated value unchanged. A model blind to it should show no gender gap beyond noise.
    gender_idx = np.random.default_rng([seed, 1]).choice(len(GENDERS), n, p=[0.5, 0.5])
    updates = rng.random(n) < 0.5
    upd_at = onboard + rng.uniform(30, SPAN_DAYS - onboard, n)
    upd_factor = np.exp(rng.normal(0.05, 0.25, n))
    p_ids = np.concatenate([ids, ids[updates]])
    profile = pd.DataFrame(
        {
            ENTITY_KEY: p_ids,
            TIMESTAMP: _times(start_ns, np.concatenate([onboard, upd_at[updates]])),
            "age_band": np.array(AGE_BANDS, dtype=object)[np.concatenate([age_idx, age_idx[updates]])],
            "gender": np.array(GENDERS, dtype=object)[np.concatenate([gender_idx, gender_idx[updates]])],
            "annual_income": np.round(
                np.clip(np.concatenate([income0, (income0 * upd_factor)[updates]]), 6_000, 4_900_000), 2
            ),
            "employment_years": np.round(
                np.concatenate([employment0, np.clip(employment0 + (upd_at - onboard) / 365, 0, 60)[updates]]), 2
            ),
            "home_ownership": np.array(HOME_OWNERSHIP, dtype=object)[np.concatenate([home, home[updates]])],
        }
    )

    # Bureau: a snapshot at onboarding and 0-5 later ones; utilization and delinquencies drift per applicant.
    k = rng.integers(1, 7, n)
    b_idx = np.repeat(np.arange(n), k)
    first = np.r_[0, np.cumsum(k)[:-1]]
    later = np.arange(len(b_idx)) != np.repeat(first, k)
    b_off = onboard[b_idx] + rng.uniform(0.01, SPAN_DAYS - onboard[b_idx]) * later
    risk = rng.normal(0, 1, n)  # latent creditworthiness, only partly visible through the features
    util = 1 / (1 + np.exp(-(risk[b_idx] * 0.9 + rng.normal(-0.6, 0.8, len(b_idx)))))
    bureau = pd.DataFrame(
        {
            ENTITY_KEY: ids[b_idx],
            TIMESTAMP: _times(start_ns, b_off),
            "credit_utilization": np.round(np.clip(util, 0, 1), 4),
            "open_accounts": np.clip(rng.poisson(4 + 2 * (risk[b_idx] > 0.5)), 0, 100).astype("int64"),
            "delinquencies_2y": np.clip(rng.poisson(np.exp(risk[b_idx] * 0.9 - 1.2)), 0, 50).astype("int64"),
            "debt_to_income": np.round(np.clip(rng.gamma(2.0, 0.12, len(b_idx)) * np.exp(0.3 * risk[b_idx]), 0, 5), 4),
            "credit_history_months": np.clip(
                rng.gamma(3.0, 25.0, n)[b_idx] + (b_off - onboard[b_idx]) / 30, 0, 900
            ).astype("int64"),
            "inquiries_6m": np.clip(rng.poisson(np.exp(0.4 * risk[b_idx])), 0, 50).astype("int64"),
        }
    ).sort_values(TIMESTAMP, kind="stable", ignore_index=True)

    # Applications: spread over time after onboarding, so many come after a profile update or a new snapshot.
    a_idx = rng.integers(0, n, rows)
    a_off = onboard[a_idx] + rng.uniform(0.5, SPAN_DAYS - onboard[a_idx] - 0.01)
    apps = (
        pd.DataFrame(
            {
                ENTITY_KEY: ids[a_idx],
                TIMESTAMP: _times(start_ns, a_off),
                "loan_amount": np.round(np.clip(np.exp(rng.normal(10.6, 0.8, rows)), 500, 1_000_000), 2),
                "loan_term_months": np.array(LOAN_TERMS, dtype="int64")[rng.integers(0, len(LOAN_TERMS), rows)],
            }
        )
        .drop_duplicates([ENTITY_KEY, TIMESTAMP], ignore_index=True)
        .sort_values(TIMESTAMP, kind="stable", ignore_index=True)
    )
    apps[LABEL] = _label(apps, profile, bureau, rng)
    return {
        "applicant_profile": profile.sort_values(TIMESTAMP, kind="stable", ignore_index=True),
        "credit_bureau": bureau,
        "loan_applications": apps,
    }


def _label(apps: pd.DataFrame, profile: pd.DataFrame, bureau: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Default within 12 months, from the features as they were when the applicant applied (point in time)."""
    asof = reference_join(apps, {"applicant_profile": profile, "credit_bureau": bureau})
    logit = (
        -3.5
        + 2.4 * asof["credit_utilization"]
        + 0.9 * asof["debt_to_income"]
        + 0.35 * np.minimum(asof["delinquencies_2y"], 6)
        + 0.12 * asof["inquiries_6m"]
        - 0.55 * np.log(asof["annual_income"] / 60_000)
        - 0.04 * asof["employment_years"]
        + 0.9 * np.minimum(asof["loan_amount"] / asof["annual_income"], 3)
        + 0.006 * (asof["loan_term_months"] - 36)
        + 0.25 * (asof["home_ownership"] == "rent")
    )
    p = 1 / (1 + np.exp(-logit.to_numpy()))
    return (rng.random(len(p)) < p).astype("int64")


def reference_join(entity_df: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Plain point-in-time join (pandas ``merge_asof``, backward, within each table's TTL): the reference the Feast
    retrieval is checked against. Keeps every entity row, in the order given."""
    from pipelines.features.schema import TABLES

    def utc_ns(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(**{TIMESTAMP: pd.to_datetime(frame[TIMESTAMP], utc=True).astype("datetime64[ns, UTC]")})

    out = utc_ns(entity_df.reset_index(drop=True)).assign(_row=lambda d: np.arange(len(d)))
    out = out.sort_values(TIMESTAMP, kind="stable")
    for name, frame in tables.items():
        right = utc_ns(frame).sort_values(TIMESTAMP, kind="stable")
        out = pd.merge_asof(
            out,
            right,
            on=TIMESTAMP,
            by=ENTITY_KEY,
            direction="backward",
            allow_exact_matches=True,
            tolerance=pd.Timedelta(days=TABLES[name].ttl_days),
        )
    return out.sort_values("_row").drop(columns="_row").reset_index(drop=True)
