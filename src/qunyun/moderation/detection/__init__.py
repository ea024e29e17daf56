"""Pure detectors: ``(message, context) → findings with evidence spans``. No Django, no I/O.

Entry point: :func:`qunyun.moderation.detection.verdict.moderate`.
"""
