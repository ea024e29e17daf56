"""Moderation (issue 5): the policy of seed 004, detectors that survive evasion, the penalty ladder.

The pure layer lives in :mod:`qunyun.moderation.taxonomy`, :mod:`qunyun.moderation.policy`,
:mod:`qunyun.moderation.ladder` and :mod:`qunyun.moderation.detection`; none of it imports
Django, so it runs in batch tools and tests without settings.
"""
