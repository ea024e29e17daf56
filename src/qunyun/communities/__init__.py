"""Communities, groups, members, identities, memberships, channels and the event log."""
