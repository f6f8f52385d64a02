"""Store tables of the classifier: classifications, labels with provenance, model registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from firewatch.store.models import Base, UTCDateTime

__all__ = ["Classification", "ClassifierModel", "FpLabel"]


class ClassifierModel(Base):
    """A trained model: which file, trained on what, how good (the card's numbers)."""

    __tablename__ = "classifier_models"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    feature_names: Mapped[str] = mapped_column(Text)  # JSON list
    classes: Mapped[str] = mapped_column(Text)  # JSON list
    n_train: Mapped[int] = mapped_column(Integer)
    label_counts: Mapped[str] = mapped_column(Text)  # JSON {source: {class: n}}
    metrics: Mapped[str | None] = mapped_column(Text)  # JSON, as in the model card


class Classification(Base):
    """The class a model gave a detection; one row per (detection, model version)."""

    __tablename__ = "classifications"

    detection_id: Mapped[str] = mapped_column(
        ForeignKey("detections.detection_id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    fp_class: Mapped[str] = mapped_column(String(24))
    p_straw: Mapped[float] = mapped_column(Float)
    p_other_vegetation: Mapped[float | None] = mapped_column(Float)
    p_industrial: Mapped[float | None] = mapped_column(Float)
    p_spurious: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    classified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_classifications_detection_time", "detection_id", "classified_at"),)


class FpLabel(Base):
    """A known class of a detection and where that knowledge came from.

    ``source`` is ``review`` (a grid member's verdict), ``firms_type`` (the FIRMS archive
    ``type``) or ``weak_rule`` (a documented rule, named in ``rule``).
    """

    __tablename__ = "fp_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    detection_id: Mapped[str] = mapped_column(
        ForeignKey("detections.detection_id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: Whether the last training run used this label.
    used: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("detection_id", "source", name="uq_fp_labels_detection_source"),
    )
