"""Onboarding (入群承接): welcomes per acquisition channel, rules, entry screening, group routing
(活码) and FAQ auto-replies."""
