"""The credit-risk tables' schema: one declaration that the Feast definitions, batch ingestion and data validation share.

Pure Python (no Feast import) so the KFP components can carry it to the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTITY = "applicant"
ENTITY_KEY = "applicant_id"
TIMESTAMP = "event_timestamp"
LABEL = "defaulted_12m"
"""1 when the applicant defaulted within 12 months of the application."""
FEATURE_SERVICE = "credit_risk_v1"
PROJECT = "credit_risk"

AGE_BANDS = ("18-25", "26-35", "36-50", "51-65", "65+")
GENDERS = ("female", "male")
HOME_OWNERSHIP = ("rent", "mortgage", "own")
LOAN_TERMS = (12, 24, 36, 48, 60)


@dataclass(frozen=True)
class Field:
    """One column: its type (a Feast primitive type name) and what values are allowed."""

    name: str
    dtype: str  # "int64" | "float64" | "string"
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple = ()
    nullable: bool = False
    description: str = ""
    sensitive: bool = False
    """A protected attribute: judged by the fairness checks, never a model input, never written to request logs."""


@dataclass(frozen=True)
class Table:
    """One offline source (a parquet file in the store) and the feature view built on it."""

    name: str
    fields: tuple[Field, ...]
    ttl_days: int
    description: str

    @property
    def columns(self) -> list[str]:
        return [ENTITY_KEY, TIMESTAMP, *(f.name for f in self.fields)]

    @property
    def features(self) -> tuple[Field, ...]:
        """Fields served as features (the label stays out of every feature view)."""
        return tuple(f for f in self.fields if f.name != LABEL)


APPLICANT_PROFILE = Table(
    name="applicant_profile",
    ttl_days=3650,
    description="Self-declared applicant data; a new row whenever the applicant updates it.",
    fields=(
        Field("age_band", "string", allowed=AGE_BANDS, sensitive=True, description="Age band (protected attribute)"),
        Field(
            "gender",
            "string",
            allowed=GENDERS,
            sensitive=True,
            description="Self-declared gender (protected attribute)",
        ),
        Field("annual_income", "float64", 0.0, 5_000_000.0, description="Declared annual income, AED"),
        Field("employment_years", "float64", 0.0, 60.0, description="Years with the current employer"),
        Field("home_ownership", "string", allowed=HOME_OWNERSHIP),
    ),
)

CREDIT_BUREAU = Table(
    name="credit_bureau",
    ttl_days=730,
    description="Credit bureau snapshots pulled at irregular intervals.",
    fields=(
        Field("credit_utilization", "float64", 0.0, 1.0, description="Revolving balance / limit"),
        Field("open_accounts", "int64", 0, 100),
        Field("delinquencies_2y", "int64", 0, 50, description="30+ days past due events in the last 2 years"),
        Field("debt_to_income", "float64", 0.0, 5.0),
        Field("credit_history_months", "int64", 0, 900),
        Field("inquiries_6m", "int64", 0, 50, description="Hard inquiries in the last 6 months"),
    ),
)

LOAN_APPLICATIONS = Table(
    name="loan_applications",
    ttl_days=1,
    description="Loan applications: the training entity rows (one per application) with the outcome label.",
    fields=(
        Field("loan_amount", "float64", 500.0, 1_000_000.0, description="Requested amount, AED"),
        Field("loan_term_months", "int64", allowed=LOAN_TERMS),
        Field(LABEL, "int64", allowed=(0, 1), description="Defaulted within 12 months (label)"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (APPLICANT_PROFILE, CREDIT_BUREAU, LOAN_APPLICATIONS)}
SERVICE_TABLES = (APPLICANT_PROFILE, CREDIT_BUREAU, LOAN_APPLICATIONS)
"""Feature views in :data:`FEATURE_SERVICE` (the loan view contributes its features, never the label)."""
SENSITIVE_ATTRIBUTES: tuple[str, ...] = tuple(f.name for t in SERVICE_TABLES for f in t.features if f.sensitive)
"""Every protected attribute the feature service returns (its ``sensitive_attributes`` tag lists them): judged by the
fairness policy (policies/fairness.yaml), never a model input, dropped from request logs."""


def service_fields() -> list[Field]:
    """Every field the feature service returns, in a stable order."""
    return [f for t in SERVICE_TABLES for f in t.features]


def training_fields() -> list[Field]:
    """Columns of a training frame besides key and timestamp: service features, then the label."""
    return [*service_fields(), *(f for f in LOAN_APPLICATIONS.fields if f.name == LABEL)]


def model_inputs() -> tuple[list[str], dict[str, tuple]]:
    """Numeric and categorical model inputs: every service feature except the sensitive attributes."""
    numeric = [f.name for f in service_fields() if f.dtype != "string" and not f.sensitive]
    categorical = {f.name: f.allowed for f in service_fields() if f.dtype == "string" and not f.sensitive}
    return numeric, categorical
