"""A learned signal: character n-grams hashed into a fixed space, and a linear model.

Text is normalized first (the compact view), so look-alike and spaced-out variants share
features with the plain spelling. Training uses scikit-learn (``SGDClassifier`` with logistic
loss); the saved model holds only numbers — weights, intercepts, labels and the hashing
settings — in a NumPy ``.npz`` file read with ``allow_pickle=False``, so loading a model file
never runs code from it.

A model file records its format version and the library versions it was trained with;
:meth:`Model.load` refuses a file of another format version, or one trained with a scikit-learn
whose feature hashing may differ (another major version), with a message that says to retrain.
"""

from __future__ import annotations

import json
import os
import platform
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from .normalize import normalize

__all__ = ["Model", "ModelError", "train", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_MAGIC = "qunyun-moderation-model"
_N_FEATURES = 2**18
_NGRAMS = (1, 3)


class ModelError(ValueError):
    """A model file cannot be used (missing, corrupt, or from an incompatible version)."""


def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char",
        ngram_range=_NGRAMS,
        n_features=_N_FEATURES,
        alternate_sign=False,
        norm="l2",
        lowercase=False,  # normalization already folded case
    )


_WHITESPACE = re.compile(r"\s\s+")  # what scikit-learn's char analyzer collapses
_GRAM_INDEX: dict[str, int] = {}


def _features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hashed, L2-normalized character n-grams of one prepared text.

    The same numbers as ``_vectorizer().transform([text])`` (a test checks it), without its
    per-call cost of about half a millisecond: n-gram → column lookups are cached.
    """
    from sklearn.utils import murmurhash3_32

    text = _WHITESPACE.sub(" ", text)
    counts: dict[int, int] = {}
    cache = _GRAM_INDEX
    if len(cache) > 2_000_000:  # bound the cache's memory (a few hundred MB at most)
        cache.clear()
    n = len(text)
    lo, hi = _NGRAMS
    for size in range(lo, hi + 1):
        for i in range(n - size + 1):
            gram = text[i : i + size]
            col = cache.get(gram)
            if col is None:
                col = cache[gram] = abs(murmurhash3_32(gram, seed=0)) % _N_FEATURES
            counts[col] = counts.get(col, 0) + 1
    if not counts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    val = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    return idx, val / np.sqrt(np.dot(val, val))


def _prepare(texts: Sequence[str]) -> list[str]:
    # A 1 MB message must not cost the model 1 MB of n-grams: the first 2,000 characters of
    # the compact view carry the signal.
    return [normalize(t[:20000]).compact[:2000] for t in texts]


@dataclass(slots=True)
class Model:
    """A trained classifier: ``predict_proba`` gives label → probability for each text."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (n_labels or 1, n_features) float32
    intercept: np.ndarray
    meta: dict

    @property
    def scope(self) -> str:
        """``community`` (trained on the community's own history: a strong signal) or
        ``general`` (trained elsewhere: a weak, corroborating signal)."""
        return str(self.meta.get("scope", "community"))

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities per label for each text (labels as trained, ``ok`` included)."""
        if not texts:
            return []
        return self.predict_proba_compact(_prepare(texts))

    def predict_proba_compact(self, compacts: Sequence[str]) -> list[dict[str, float]]:
        """The same for texts already normalized to their compact view (the verdict has it)."""
        if not compacts:
            return []
        rows = []
        for text in (c[:2000] for c in compacts):
            idx, val = _features(text)
            rows.append(self.coef[:, idx] @ val if len(idx) else np.zeros(self.coef.shape[0], dtype=np.float32))
        z = np.vstack(rows) + self.intercept
        out = []
        if len(self.labels) == 2:
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            for p in p1:
                out.append({self.labels[0]: float(1 - p), self.labels[1]: float(p)})
            return out
        p = 1.0 / (1.0 + np.exp(-z))
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        for row in p:
            out.append({lab: float(v) for lab, v in zip(self.labels, row)})
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (``.npz``) with its header (format and library versions)."""
        header = json.dumps({**self.meta, "labels": list(self.labels)}, ensure_ascii=False)
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.array(header),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Model":
        """Read a model written by :meth:`save`; :class:`ModelError` says why it cannot be used."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                coef = data["coef"]
                intercept = data["intercept"]
        except FileNotFoundError:
            raise ModelError(f"{path}: model file not found") from None
        except Exception as exc:
            raise ModelError(f"{path}: not a qunyun moderation model ({type(exc).__name__})") from None
        if header.get("format") != _MAGIC:
            raise ModelError(f"{path}: not a qunyun moderation model")
        version = header.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelError(
                f"{path}: model format version {version} is not supported by this qunyun "
                f"(expects {FORMAT_VERSION}); retrain it with `qunyun moderation train`"
            )
        trained = str(header.get("sklearn", "?"))
        current = _sklearn_version()
        if trained.split(".")[0] != current.split(".")[0] or header.get("n_features") != _N_FEATURES or list(
            header.get("ngrams", [])
        ) != list(_NGRAMS):
            raise ModelError(
                f"{path}: model was trained with scikit-learn {trained} and different feature "
                f"settings than this install (scikit-learn {current}); retrain it with "
                "`qunyun moderation train`"
            )
        labels = tuple(header.get("labels") or ())
        if len(labels) < 2 or coef.shape[1] != _N_FEATURES:
            raise ModelError(f"{path}: model file is damaged (labels or weights missing)")
        return cls(labels, coef, intercept, header)


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


SCOPES = ("community", "general")


def train(texts: Sequence[str], labels: Sequence[str], *, scope: str = "community", seed: int = 13) -> Model:
    """Train a model on labelled texts (``ok`` or category ids). Needs at least two labels.

    ``scope``: ``community`` when the examples are the community's own reviewed history (the
    model may then flag on its own and overrule the rules), ``general`` when they come from
    elsewhere (the model only corroborates the rules).
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"need at least two different labels to train, got {classes}")
    x = _vectorizer().transform(_prepare(texts))
    clf = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=50, tol=1e-4, random_state=seed, class_weight="balanced")
    with warnings.catch_warnings():  # a few more epochs would not change the verdicts
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, list(labels))
    meta = {
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "sklearn": _sklearn_version(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "n_features": _N_FEATURES,
        "ngrams": list(_NGRAMS),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "examples": len(texts),
        "scope": scope,
    }
    return Model(tuple(str(c) for c in clf.classes_), clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), meta)
