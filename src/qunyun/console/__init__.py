"""The web console: operators' pages. Reads through selectors, writes through services.

Built to be extended by the other areas without editing its views:

* a page: a view that gets its community from
  :func:`~qunyun.operators.selectors.community_for_operator` and renders with
  :func:`~qunyun.console.shortcuts.render_community`, a template extending ``console/base.html``;
* the navigation: one list, :data:`qunyun.console.nav.COMMUNITY_NAV`;
* a panel on the overview, member or group page: :mod:`qunyun.console.panels`;
* a CSV download of any table: :func:`qunyun.console.export.csv_response`;
* the audit log: :func:`qunyun.operators.services.audit_record`.
"""
